package faultproxy

import (
	"net"
	"sync"
	"time"
)

// pair is one proxied connection: the client's socket and ours to the upstream, with a reader
// and a writer each way. A chunk read is stamped with when it may be written (latency), or
// dropped (blackhole); the writer waits for that time, then writes it sliced and paced.
type pair struct {
	p                *Proxy
	client, upstream *net.TCPConn
	once             sync.Once
	done             chan struct{} // closed by shut: writers stop waiting
}

// chunk is bytes read one way, due for writing at due.
type chunk struct {
	b   []byte
	due time.Time
}

// queueLen bounds the chunks in flight one way: a reader waits when its writer is behind.
const queueLen = 256

func (pr *pair) run() {
	var wg sync.WaitGroup
	wg.Add(4)
	for i, ends := range [2][2]*net.TCPConn{{pr.client, pr.upstream}, {pr.upstream, pr.client}} {
		q := make(chan chunk, queueLen)
		go func() { defer wg.Done(); pr.read(i, ends[0], q) }()
		go func() { defer wg.Done(); pr.write(i, ends[1], q) }()
	}
	wg.Wait()
	pr.shut(false)
}

// read forwards what src sends into q until src ends; then it ends the other side's writes.
func (pr *pair) read(i int, src *net.TCPConn, q chan<- chunk) {
	defer close(q)
	var last time.Time
	for {
		buf := make([]byte, 32<<10)
		n, err := src.Read(buf)
		if n > 0 {
			w, delay := pr.p.faults(i)
			if w.blackhole {
				pr.p.counter.Dropped[i].Add(uint64(n))
			} else {
				due := time.Now().Add(delay)
				if due.Before(last) {
					due = last // jitter never reorders
				}
				last = due
				q <- chunk{b: buf[:n], due: due}
			}
		}
		if err != nil {
			pr.holdWhileBlackholed(i) // a dead path carries no FIN either
			return
		}
	}
}

// holdWhileBlackholed returns once way i is not blackholed, or the pair is shut.
func (pr *pair) holdWhileBlackholed(i int) {
	for {
		if w, _ := pr.p.faults(i); !w.blackhole || !pr.wait(10*time.Millisecond) {
			return
		}
	}
}

// write writes the chunks of q to dst, each at its time, in slices and at the bandwidth in force.
// When q ends (its reader saw EOF or an error) it half-closes dst, passing the FIN on; when a
// write fails it shuts the whole pair.
func (pr *pair) write(i int, dst *net.TCPConn, q <-chan chunk) {
	for c := range q {
		if !pr.wait(time.Until(c.due)) {
			continue // shut: drain q so the reader can finish
		}
		for b := c.b; len(b) > 0; {
			w, _ := pr.p.faults(i)
			n := len(b)
			if w.size > 0 && n > w.size {
				n = w.size
			}
			if w.rate > 0 {
				n = min(n, max(1, w.rate/100)) // paced in pieces of 10 ms of the rate
			}
			n, cut := pr.p.take(i, n)
			if _, err := dst.Write(b[:n]); err != nil || cut {
				pr.shut(cut)  // a CutAfter resets; a failed write just ends the pair
				for range q { // let the reader finish
				}
				return
			}
			pr.p.counter.Forwarded[i].Add(uint64(n))
			b = b[n:]
			var wait time.Duration
			if w.rate > 0 {
				wait = time.Duration(int64(n) * int64(time.Second) / int64(w.rate))
			}
			if len(b) > 0 && w.size > 0 {
				wait = max(wait, w.pause)
			}
			if !pr.wait(wait) {
				break
			}
		}
	}
	_ = dst.CloseWrite()
}

// wait sleeps for d, or less when the pair is shut; it reports whether the pair is still up.
func (pr *pair) wait(d time.Duration) bool {
	if d <= 0 {
		select {
		case <-pr.done:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-pr.done:
		return false
	}
}

// shut closes both sockets, with an RST when reset.
func (pr *pair) shut(reset bool) {
	pr.once.Do(func() {
		close(pr.done)
		for _, c := range []*net.TCPConn{pr.client, pr.upstream} {
			if reset {
				_ = c.SetLinger(0)
			}
			_ = c.Close()
		}
	})
}
