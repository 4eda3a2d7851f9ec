package server_test

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/s13/eir"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/require"
)

// pipeClient is an allocation-free loopback load client: one goroutine keeps two batches of
// pre-encoded ECRs in flight (it writes the next batch before reading the answers to the
// previous one), so the server always has work queued and answers in batches. Its steady state
// allocates nothing, which makes whole-process allocation counts the server's.
type pipeClient struct {
	tb       testing.TB
	nc       net.Conn
	batch    []byte // batchN copies of one ECR
	batchN   int
	msgLen   int
	rbuf     []byte
	off, end int // unread bytes in rbuf
}

func newPipeClient(tb testing.TB, addr string, batchN int) *pipeClient {
	tb.Helper()
	c := dial(tb, addr).open(cliHost)
	ecr := c.ecr("35209900176148")
	require.NoError(tb, c.nc.SetDeadline(time.Time{})) // the helpers' deadlines would end long runs
	return &pipeClient{
		tb:     tb,
		nc:     c.nc,
		batch:  bytes.Repeat(ecr, batchN),
		batchN: batchN,
		msgLen: len(ecr),
		rbuf:   make([]byte, 256<<10),
	}
}

// run sends n ECRs and reads their n answers.
func (p *pipeClient) run(n int) {
	var inflight [2]int
	head, count, sent, answered := 0, 0, 0, 0
	for answered < n {
		for count < 2 && sent < n {
			k := min(p.batchN, n-sent)
			if _, err := p.nc.Write(p.batch[:k*p.msgLen]); err != nil {
				p.tb.Fatalf("write: %v", err)
			}
			inflight[(head+count)%2] = k
			count++
			sent += k
		}
		p.readAnswers(inflight[head])
		answered += inflight[head]
		head = (head + 1) % 2
		count--
	}
}

// readAnswers reads until k whole messages have arrived.
func (p *pipeClient) readAnswers(k int) {
	for k > 0 {
		n, err := framing.FrameLen(p.rbuf[p.off:p.end], 0)
		if err != nil {
			p.tb.Fatalf("bad answer stream: %v", err)
		}
		if n > 0 {
			p.off += n
			k--
			continue
		}
		if p.off > 0 { // move the partial frame to the front
			p.end = copy(p.rbuf, p.rbuf[p.off:p.end])
			p.off = 0
		}
		m, err := p.nc.Read(p.rbuf[p.end:])
		if err != nil {
			p.tb.Fatalf("read: %v", err)
		}
		p.end += m
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkServe measures the responder under a pipelining loopback client in the same process:
// one op is one ECR answered. allocs/answer (from runtime.MemStats over the whole process, the
// client allocating nothing) is the server's allocation rate; cpu-ns/answer is the process's
// CPU (client and server together) per answer; answers/write is how many answers each of the
// server's write(2) calls carried.
func BenchmarkServe(b *testing.B) {
	for _, bc := range []struct {
		name  string
		batch int
		delay time.Duration
	}{
		{"batch=1", 1, 0},
		{"batch=64", 64, 0},
		{"batch=512", 512, 0},
		{"batch=512/delayed=1ms", 512, time.Millisecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var opts []eir.Option
			if bc.delay > 0 {
				opts = append(opts, eir.WithDelay(bc.delay))
			}
			srv := startServer(b, server.Config{Handler: fdEIR(b, opts...)})
			p := newPipeClient(b, srv.Addr(), bc.batch)
			warm := 20 * bc.batch
			p.run(warm) // warm up: buffers grown, pools filled
			eventually(b, func() bool { return srv.Stats().Answers == uint64(warm) }, "warm-up counted")

			st0 := srv.Stats()
			var m0, m1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m0)
			cpu0 := cpuTime()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			p.run(b.N)
			elapsed := time.Since(start)
			b.StopTimer()
			cpu := cpuTime() - cpu0
			runtime.ReadMemStats(&m1)
			st := srv.Stats()

			answers := st.Answers - st0.Answers
			require.EqualValues(b, b.N, answers)
			b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(b.N), "allocs/answer")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/answer")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "answers/s")
			if w := st.Writes - st0.Writes; w > 0 {
				b.ReportMetric(float64(answers)/float64(w), "answers/write")
			}
		})
	}
}

func ExampleServer() {
	handler, _ := eir.New(framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}, eir.DefaultPolicy())
	srv, err := server.New(server.Config{
		Listen:      "127.0.0.1:0",
		OriginHost:  "eir.test.local",
		OriginRealm: "test.local",
		Handler:     handler,
	})
	if err != nil {
		panic(err)
	}
	_ = srv // srv.Start(ctx) ... srv.Close(ctx)
	fmt.Println(srv.Config().Loops)
	// Output: 1
}
