package wheel

// Lazy is a deadline that moves often and expires rarely, as a watchdog that every received
// message re-arms: moving it later leaves the wheel entry where it is, and the entry, when it
// fires before the deadline, re-arms itself for it. So a busy connection costs no wheel operation
// per message, only one per expiry of the old entry. The zero Lazy has no deadline.
type Lazy struct {
	t  Timer
	at int64 // the deadline; 0: none
}

// Set moves the deadline to at (not 0). The wheel entry only moves when at is earlier than it.
func (d *Lazy) Set(w *Wheel, at int64, owner Expirer) {
	d.at = at
	if !d.t.armed || d.t.at > at {
		w.Add(&d.t, at, owner)
	}
}

// Stop clears the deadline and disarms the entry.
func (d *Lazy) Stop(w *Wheel) {
	d.at = 0
	w.Stop(&d.t)
}

// Due is for owner's Expire, with the now it was given: true when the deadline has come (it is
// then cleared); false when there is none or it is still ahead, for which the entry is re-armed.
func (d *Lazy) Due(w *Wheel, now int64, owner Expirer) bool {
	switch {
	case d.at == 0:
		return false
	case now < d.at:
		w.Add(&d.t, d.at, owner)
		return false
	}
	d.at = 0
	return true
}

// Deadline returns the deadline, 0 when there is none.
func (d *Lazy) Deadline() int64 { return d.at }

// Entry returns when the wheel entry fires (meaningful while Armed): at or before the deadline.
func (d *Lazy) Entry() int64 { return d.t.at }

// Armed reports whether the wheel entry is scheduled.
func (d *Lazy) Armed() bool { return d.t.armed }
