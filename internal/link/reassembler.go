package link

import "github.com/hsdfat8/diam-gw/framing"

// FrameHandler receives the messages a Reassembler cuts.
type FrameHandler interface {
	// Frame handles one whole message; msg aliases the read buffer (or the reassembler's) and is
	// valid only during the call. False stops the cutting: the connection is closing.
	Frame(msg []byte) bool
}

// Reassembler cuts a TCP byte stream into Diameter messages. Complete messages are handed over in
// place, aliasing the read buffer; only a message cut by the end of a read is copied into partial,
// and the next read copies just the bytes that complete it. Loop-owned: not safe for concurrent
// use.
type Reassembler struct {
	Max     int // largest accepted message, framing.FrameLen's max
	partial []byte
	cut     uint64 // messages handed over so far: progress, for a fragment timer
}

// Feed cuts data; it returns the framing error that makes the stream unusable, if any (RFC 6733
// §2.1: the stream cannot be resynchronised, so the caller resets it, see Abort). Not safe for
// concurrent use.
func (r *Reassembler) Feed(data []byte, h FrameHandler) error {
	if len(r.partial) > 0 {
		var err error
		var more bool
		if data, more, err = r.complete(data, h); err != nil || !more {
			return err
		}
	}
	for len(data) > 0 {
		n, err := framing.FrameLen(data, r.Max)
		if err != nil {
			return err
		}
		if n == 0 {
			r.partial = append(r.partial[:0], data...) // data aliases the read buffer: copy
			return nil
		}
		r.cut++
		if !h.Frame(data[:n]) {
			return nil
		}
		data = data[n:]
	}
	if cap(r.partial) > 2*r.Max {
		r.partial = nil // one huge message grew it: let the GC have it back
	}
	return nil
}

// complete adds to partial the bytes of data it lacks, hands the message over once it is whole,
// and returns the rest of data and whether to go on with it.
func (r *Reassembler) complete(data []byte, h FrameHandler) ([]byte, bool, error) {
	if len(r.partial) < 4 { // the length field first
		k := min(4-len(r.partial), len(data))
		r.partial = append(r.partial, data[:k]...)
		data = data[k:]
		if len(r.partial) < 4 {
			return nil, false, nil
		}
	}
	size, err := framing.MessageLength(r.partial, r.Max)
	if err != nil {
		r.Reset()
		return nil, false, err
	}
	k := min(size-len(r.partial), len(data))
	r.partial = append(r.partial, data[:k]...)
	data = data[k:]
	if len(r.partial) < size {
		return nil, false, nil
	}
	msg := r.partial
	r.partial = r.partial[:0]
	r.cut++
	return data, h.Frame(msg), nil
}

// Reset drops a partial message: the stream is gone or being reset. Not safe for concurrent use.
func (r *Reassembler) Reset() { r.partial = r.partial[:0] }

// Pending is the number of bytes of an incomplete message held; 0 when the stream is between
// messages. Not safe for concurrent use.
func (r *Reassembler) Pending() int { return len(r.partial) }

// Cut is the number of messages handed over so far, a progress count. Not safe for concurrent use.
func (r *Reassembler) Cut() uint64 { return r.cut }
