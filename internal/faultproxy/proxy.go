package faultproxy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy listens on 127.0.0.1 and forwards each accepted connection to its upstream address,
// applying the faults in force. Every method is safe for concurrent use.
type Proxy struct {
	upstream string
	ln       net.Listener
	wg       sync.WaitGroup
	closing  chan struct{}
	once     sync.Once

	mu     sync.Mutex
	ways   [2]way // the faults in force each way: 0 to the upstream, 1 to the client
	refuse bool
	pairs  map[*pair]struct{}
	rng    *rand.Rand

	events  chan Event
	counter Counters
}

// way is the standing faults of one direction.
type way struct {
	delay, jitter time.Duration
	blackhole     bool
	size          int
	pause         time.Duration
	rate          int
	cut           int // bytes left before CutAfter fires; 0: not armed
}

// Counters are the proxy's totals; read them with Stats.
type Counters struct {
	Accepted   atomic.Uint64    // connections accepted (refused ones included)
	Refused    atomic.Uint64    // connections closed at once by Refuse
	DialErrors atomic.Uint64    // connections closed because the upstream could not be dialled
	Forwarded  [2]atomic.Uint64 // bytes written on: 0 to the upstream, 1 to the client
	Dropped    [2]atomic.Uint64 // bytes a blackhole swallowed, likewise
	LostEvents atomic.Uint64    // events not delivered: nobody read Events
}

// Snapshot is a copy of the Counters.
type Snapshot struct {
	Accepted, Refused, DialErrors uint64
	ForwardedToUpstream           uint64
	ForwardedToClient             uint64
	DroppedToUpstream             uint64
	DroppedToClient               uint64
	LostEvents                    uint64
}

// Start listens on 127.0.0.1 (an ephemeral port) and proxies to upstream (host:port).
func Start(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{
		upstream: upstream,
		ln:       ln,
		closing:  make(chan struct{}),
		pairs:    map[*pair]struct{}{},
		rng:      rand.New(rand.NewPCG(1, 2)),
		events:   make(chan Event, 256),
	}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the address clients dial.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Stats copies the counters.
func (p *Proxy) Stats() Snapshot {
	c := &p.counter
	return Snapshot{
		Accepted: c.Accepted.Load(), Refused: c.Refused.Load(), DialErrors: c.DialErrors.Load(),
		ForwardedToUpstream: c.Forwarded[0].Load(), ForwardedToClient: c.Forwarded[1].Load(),
		DroppedToUpstream: c.Dropped[0].Load(), DroppedToClient: c.Dropped[1].Load(),
		LostEvents: c.LostEvents.Load(),
	}
}

// Events delivers each applied fault, in order (Apply's and the timelines'). The channel holds
// 256; when it is full further events are counted in LostEvents, never waited for.
func (p *Proxy) Events() <-chan Event { return p.events }

// Conns is the number of connections being proxied.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pairs)
}

// Apply puts f in force now. After Close it does nothing and returns ErrClosed.
func (p *Proxy) Apply(f Fault) error {
	select {
	case <-p.closing:
		return ErrClosed
	default:
	}
	var doomed []*pair
	p.mu.Lock()
	for i := range p.ways {
		if f.dir&(Direction(1)<<i) == 0 && f.kind != kindHeal {
			continue
		}
		w := &p.ways[i]
		switch f.kind {
		case kindLatency:
			w.delay, w.jitter = f.delay, f.jitter
		case kindBlackhole:
			w.blackhole = f.on
		case kindSlice:
			w.size, w.pause = f.size, f.pause
		case kindBandwidth:
			w.rate = f.rate
		case kindCut:
			w.cut = f.size
		case kindHeal:
			*w = way{}
		}
	}
	switch f.kind {
	case kindRefuse:
		p.refuse = f.on
	case kindHeal:
		p.refuse = false
	case kindClose, kindReset:
		for pr := range p.pairs {
			doomed = append(doomed, pr)
		}
	}
	p.mu.Unlock()
	for _, pr := range doomed {
		pr.shut(f.kind == kindReset)
	}
	select {
	case p.events <- Event{Fault: f, At: time.Now()}:
	default:
		p.counter.LostEvents.Add(1)
	}
	return nil
}

// Schedule runs a timeline: each step's fault is applied at its offset from now. It returns at
// once; the returned func cancels the steps not yet applied (Close cancels them too).
func (p *Proxy) Schedule(steps ...Step) (cancel func()) {
	stop := make(chan struct{})
	var once sync.Once
	start := time.Now()
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTimer(time.Hour)
		defer t.Stop()
		for _, s := range sortedSteps(steps) {
			t.Reset(time.Until(start.Add(s.At)))
			select {
			case <-t.C:
				if p.Apply(s.Fault) != nil {
					return
				}
			case <-stop:
				return
			case <-p.closing:
				return
			}
		}
	}()
	return func() { once.Do(func() { close(stop) }) }
}

func sortedSteps(steps []Step) []Step {
	out := append([]Step(nil), steps...)
	for i := 1; i < len(out); i++ { // insertion sort, stable: steps at one offset keep their order
		for j := i; j > 0 && out[j].At < out[j-1].At; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Close stops listening, closes every proxied connection (FIN) and waits for its goroutines.
func (p *Proxy) Close() error {
	p.once.Do(func() {
		close(p.closing)
		_ = p.ln.Close()
		p.mu.Lock()
		var all []*pair
		for pr := range p.pairs {
			all = append(all, pr)
		}
		p.mu.Unlock()
		for _, pr := range all {
			pr.shut(false)
		}
	})
	p.wg.Wait()
	return nil
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p.counter.Accepted.Add(1)
		p.mu.Lock()
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			p.counter.Refused.Add(1)
			_ = c.Close()
			continue
		}
		p.wg.Add(1)
		go p.open(c.(*net.TCPConn))
	}
}

// open dials the upstream for client c and starts forwarding.
func (p *Proxy) open(c *net.TCPConn) {
	defer p.wg.Done()
	d := net.Dialer{Timeout: 5 * time.Second}
	uc, err := d.Dial("tcp", p.upstream)
	if err != nil {
		p.counter.DialErrors.Add(1)
		_ = c.Close()
		return
	}
	pr := &pair{p: p, client: c, upstream: uc.(*net.TCPConn), done: make(chan struct{})}
	p.mu.Lock()
	select {
	case <-p.closing:
		p.mu.Unlock()
		pr.shut(false)
		return
	default:
	}
	p.pairs[pr] = struct{}{}
	p.mu.Unlock()
	pr.run()
	p.mu.Lock()
	delete(p.pairs, pr)
	p.mu.Unlock()
}

// take claims up to n bytes to forward way i: all of them unless a CutAfter is armed, then no
// more than it has left; cut says the claim spends it (the writer resets after those bytes).
func (p *Proxy) take(i, n int) (m int, cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := &p.ways[i]
	if w.cut <= 0 {
		return n, false
	}
	m = min(n, w.cut)
	w.cut -= m
	return m, w.cut == 0
}

// faults copies the standing faults of way i, with this chunk's jitter drawn.
func (p *Proxy) faults(i int) (w way, delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w = p.ways[i]
	delay = w.delay
	if w.jitter > 0 {
		delay += time.Duration(p.rng.Int64N(int64(w.jitter) + 1))
	}
	return w, delay
}
