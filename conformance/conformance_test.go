package conformance

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/fixtures"
	"github.com/hsdfat8/diam-gw/s13"
)

// The capture: one TCP connection on loopback, the MME dialling the EIR on a port that is not
// Diameter's default, so every decode below depends on the explicit decode-as.
const (
	serverPort = 13868
	clientPort = 40123

	mmeHost = "mme1.epc.mnc001.mcc001.3gppnetwork.org"
	eirHost = "eir1.epc.mnc001.mcc001.3gppnetwork.org"
	realm   = "epc.mnc001.mcc001.3gppnetwork.org"
	imei    = "35209900176148"
	svn     = "23"
	imsi    = "001010123456789"

	mmeStateID = 1700000000
	eirStateID = 1690000000
	hbhStart   = 0x2a000001
	tsharkWait = 2 * time.Minute
)

var (
	loopback   = netip.MustParseAddr("127.0.0.1")
	clientAddr = netip.AddrPortFrom(loopback, clientPort)
	serverAddr = netip.AddrPortFrom(loopback, serverPort)
	captureT0  = time.Unix(1700000000, 0)
	decodeAs   = fmt.Sprintf("tcp.port==%d,diameter", serverPort)
)

// Expert severities as tshark prints _ws.expert.severity (epan/proto.h PI_CHAT .. PI_ERROR).
const (
	sevChat  = 0x00200000
	sevNote  = 0x00400000
	sevWarn  = 0x00600000
	sevError = 0x00800000
)

// fields is what every decode asks tshark for, one column each (tshark -G fields names, 4.0.17).
// Every Diameter message is checked against all of them: a field a message should not carry
// must decode empty.
var fields = []string{
	"diameter.cmd.code",
	"diameter.flags.request",
	"diameter.flags.proxyable",
	"diameter.flags.error",
	"diameter.flags.T",
	"diameter.applicationId",
	"diameter.hopbyhopid",
	"diameter.endtoendid",
	"diameter.answer_in",
	"diameter.answer_to",
	"diameter.Session-Id",
	"diameter.Origin-Host",
	"diameter.Origin-Realm",
	"diameter.Destination-Realm",
	"diameter.Host-IP-Address.IPv4",
	"diameter.Vendor-Id",
	"diameter.Product-Name",
	"diameter.Origin-State-Id",
	"diameter.Supported-Vendor-Id",
	"diameter.Auth-Application-Id",
	"diameter.Auth-Session-State",
	"diameter.Disconnect-Cause",
	"diameter.Result-Code",
	"diameter.Experimental-Result-Code",
	"diameter.Error-Message",
	"diameter.IMEI",
	"diameter.Software-Version",
	"diameter.User-Name",
	"diameter.Equipment-Status",
}

// frameFields precede fields in every row: per-frame facts about the capture itself.
var frameFields = []string{
	"frame.number",
	"frame.protocols",
	"ip.checksum.status",
	"tcp.checksum.status",
	"tcp.analysis.flags",
	"tcp.completeness",
	"_ws.expert.severity",
	"_ws.expert.group",
	"_ws.expert.message",
}

// msg is one Diameter message of the capture and what tshark must decode from it.
type msg struct {
	name       string
	fromClient bool
	bytes      []byte
	answerTo   *msg              // the request this answer answers; nil for requests
	frame      int               // frame number in the capture, set by writeConversation
	want       map[string]string // field -> value; fields not listed must decode empty
}

// buildConversation encodes the whole MME <-> EIR exchange with the project's encoders.
func buildConversation(t *testing.T) []*msg {
	t.Helper()
	mme := &framing.Identity{OriginHost: mmeHost, OriginRealm: realm, OriginStateID: mmeStateID}
	eir := &framing.Identity{OriginHost: eirHost, OriginRealm: realm, OriginStateID: eirStateID}
	s13App := []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}}
	cerCaps := &framing.Capabilities{
		OriginHost: mmeHost, OriginRealm: realm,
		HostIPAddresses:    []netip.Addr{loopback},
		VendorID:           framing.Vendor3GPP,
		ProductName:        "diam-gw",
		OriginStateID:      mmeStateID,
		SupportedVendorIDs: []uint32{framing.Vendor3GPP},
		VendorSpecificApps: s13App,
	}
	ceaCaps := &framing.Capabilities{
		OriginHost: eirHost, OriginRealm: realm,
		HostIPAddresses:    []netip.Addr{loopback},
		VendorID:           framing.Vendor3GPP,
		ProductName:        "eir-sim",
		OriginStateID:      eirStateID,
		SupportedVendorIDs: []uint32{framing.Vendor3GPP},
		VendorSpecificApps: s13App,
	}

	hbh := framing.NewHopByHopIDs(hbhStart)
	e2e := framing.NewEndToEndIDs(framing.EndToEndSeed(mmeStateID, 1)) // 0x10000001
	reqHeader := func(b []byte) framing.Header {
		h, err := framing.ParseHeader(b)
		require.NoError(t, err)
		return h
	}
	ecr := func(h, e, sessionLo uint32, retransmit bool) []byte {
		env := &s13.Envelope{
			HopByHop: h, EndToEnd: e, Retransmit: retransmit,
			OriginHost: mmeHost, OriginRealm: realm, SessionHi: mmeStateID, SessionLo: sessionLo,
		}
		r := &s13.Request{IMEI: imei, SoftwareVersion: svn, IMSI: imsi, DestinationRealm: realm}
		require.NoError(t, r.Validate())
		return s13.AppendECR(nil, env, r)
	}
	parseECR := func(b []byte) *s13.ECR {
		r, err := s13.ParseECR(b)
		require.NoError(t, err)
		return &r
	}
	hex := func(v uint32) string { return fmt.Sprintf("0x%08x", v) }
	session := func(lo uint32) string { return s13.SessionID(mmeHost, mmeStateID, lo) }

	// Fields every base request / answer carries.
	baseReq := func(code uint32, h, e uint32) map[string]string {
		return map[string]string{
			"diameter.cmd.code": strconv.Itoa(int(code)), "diameter.flags.request": "1",
			"diameter.flags.proxyable": "0", "diameter.flags.error": "0", "diameter.flags.T": "0",
			"diameter.applicationId": "0", "diameter.hopbyhopid": hex(h), "diameter.endtoendid": hex(e),
			"diameter.Origin-Host": mmeHost, "diameter.Origin-Realm": realm,
		}
	}
	baseAns := func(code uint32, h, e uint32, rc string) map[string]string {
		return map[string]string{
			"diameter.cmd.code": strconv.Itoa(int(code)), "diameter.flags.request": "0",
			"diameter.flags.proxyable": "0", "diameter.flags.error": "0", "diameter.flags.T": "0",
			"diameter.applicationId": "0", "diameter.hopbyhopid": hex(h), "diameter.endtoendid": hex(e),
			"diameter.Origin-Host": eirHost, "diameter.Origin-Realm": realm,
			"diameter.Result-Code": rc,
		}
	}
	s13Req := func(h, e, sessionLo uint32, t bool) map[string]string {
		m := map[string]string{
			"diameter.cmd.code": "324", "diameter.flags.request": "1",
			"diameter.flags.proxyable": "1", "diameter.flags.error": "0", "diameter.flags.T": "0",
			"diameter.applicationId": "16777252", "diameter.hopbyhopid": hex(h), "diameter.endtoendid": hex(e),
			"diameter.Session-Id": session(sessionLo), "diameter.Vendor-Id": "10415",
			"diameter.Auth-Application-Id": "16777252", "diameter.Auth-Session-State": "1",
			"diameter.Origin-Host": mmeHost, "diameter.Origin-Realm": realm, "diameter.Destination-Realm": realm,
			"diameter.IMEI": imei, "diameter.Software-Version": svn, "diameter.User-Name": imsi,
		}
		if t {
			m["diameter.flags.T"] = "1"
		}
		return m
	}
	s13Ans := func(h, e, sessionLo uint32) map[string]string {
		return map[string]string{
			"diameter.cmd.code": "324", "diameter.flags.request": "0",
			"diameter.flags.proxyable": "1", "diameter.flags.error": "0", "diameter.flags.T": "0",
			"diameter.applicationId": "16777252", "diameter.hopbyhopid": hex(h), "diameter.endtoendid": hex(e),
			"diameter.Session-Id": session(sessionLo), "diameter.Vendor-Id": "10415",
			"diameter.Auth-Application-Id": "16777252", "diameter.Auth-Session-State": "1",
			"diameter.Origin-Host": eirHost, "diameter.Origin-Realm": realm,
		}
	}
	with := func(m map[string]string, kv ...string) map[string]string {
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	var out []*msg
	add := func(name string, fromClient bool, b []byte, want map[string]string) []byte {
		m := &msg{name: name, fromClient: fromClient, bytes: b, want: want}
		if !fromClient {
			// Every answer here answers the last request sent.
			for i := len(out) - 1; i >= 0; i-- {
				if out[i].fromClient {
					m.answerTo = out[i]
					break
				}
			}
		}
		out = append(out, m)
		return b
	}

	// Capabilities exchange.
	h, e := hbh.Next(), e2e.Next()
	cer := add("CER", true, framing.AppendCER(nil, h, e, cerCaps), with(baseReq(257, h, e),
		"diameter.Host-IP-Address.IPv4", "127.0.0.1", "diameter.Vendor-Id", "10415,10415",
		"diameter.Product-Name", "diam-gw", "diameter.Origin-State-Id", strconv.Itoa(mmeStateID),
		"diameter.Supported-Vendor-Id", "10415", "diameter.Auth-Application-Id", "16777252"))
	add("CEA 2001", false, framing.AppendCEA(nil, reqHeader(cer), framing.Success, ceaCaps, ""),
		with(baseAns(257, h, e, "2001"),
			"diameter.Host-IP-Address.IPv4", "127.0.0.1", "diameter.Vendor-Id", "10415,10415",
			"diameter.Product-Name", "eir-sim", "diameter.Origin-State-Id", strconv.Itoa(eirStateID),
			"diameter.Supported-Vendor-Id", "10415", "diameter.Auth-Application-Id", "16777252"))

	// Watchdog.
	h, e = hbh.Next(), e2e.Next()
	dwr := add("DWR", true, framing.AppendDWR(nil, h, e, mme), with(baseReq(280, h, e),
		"diameter.Origin-State-Id", strconv.Itoa(mmeStateID)))
	add("DWA 2001", false, framing.AppendDWA(nil, reqHeader(dwr), framing.Success, eir),
		with(baseAns(280, h, e, "2001"), "diameter.Origin-State-Id", strconv.Itoa(eirStateID)))

	// ECR answered WHITELISTED.
	h, e = hbh.Next(), e2e.Next()
	b := add("ECR", true, ecr(h, e, 1, false), s13Req(h, e, 1, false))
	add("ECA 2001 WHITELISTED", false, s13.AppendECA(nil, parseECR(b), eir, &s13.Verdict{
		ResultCode: framing.Success, EquipmentStatus: s13.Whitelisted,
	}), with(s13Ans(h, e, 1), "diameter.Result-Code", "2001", "diameter.Equipment-Status", "0"))

	// ECR left unanswered, resent with the T flag: same End-to-End and Session-Id, new
	// Hop-by-Hop; the answer goes to the resent copy.
	h, e = hbh.Next(), e2e.Next()
	first := add("ECR (unanswered)", true, ecr(h, e, 2, false), s13Req(h, e, 2, false))
	h = hbh.Next()
	b = add("ECR T (retransmission)", true, ecr(h, e, 2, true), s13Req(h, e, 2, true))
	requireRetransmitOf(t, first, b, h)
	add("ECA 2001 BLACKLISTED", false, s13.AppendECA(nil, parseECR(b), eir, &s13.Verdict{
		ResultCode: framing.Success, EquipmentStatus: s13.Blacklisted,
	}), with(s13Ans(h, e, 2), "diameter.Result-Code", "2001", "diameter.Equipment-Status", "1"))

	// ECR for an IMEI the EIR does not know.
	h, e = hbh.Next(), e2e.Next()
	b = add("ECR", true, ecr(h, e, 3, false), s13Req(h, e, 3, false))
	add("ECA 5422 EQUIPMENT_UNKNOWN", false, s13.AppendECA(nil, parseECR(b), eir, &s13.Verdict{
		Experimental: s13.EquipmentUnknown,
	}), with(s13Ans(h, e, 3), "diameter.Vendor-Id", "10415,10415",
		"diameter.Experimental-Result-Code", "5422"))

	// ECR answered by an overloaded EIR: E-bit answer-message, no Vendor-Specific-Application-Id.
	h, e = hbh.Next(), e2e.Next()
	b = add("ECR", true, ecr(h, e, 4, false), s13Req(h, e, 4, false))
	req := parseECR(b)
	add("answer-message 3004 TOO_BUSY", false, framing.AppendAnswerMessage(nil, req.Header, eir, &framing.ErrorAnswer{
		ResultCode: framing.TooBusy, SessionID: req.SessionID, ErrorMessage: "EIR overloaded",
	}), map[string]string{
		"diameter.cmd.code": "324", "diameter.flags.request": "0",
		"diameter.flags.proxyable": "1", "diameter.flags.error": "1", "diameter.flags.T": "0",
		"diameter.applicationId": "16777252", "diameter.hopbyhopid": hex(h), "diameter.endtoendid": hex(e),
		"diameter.Session-Id": session(4), "diameter.Origin-Host": eirHost, "diameter.Origin-Realm": realm,
		"diameter.Result-Code": "3004", "diameter.Origin-State-Id": strconv.Itoa(eirStateID),
		"diameter.Error-Message": "EIR overloaded",
	})

	// Disconnect.
	h, e = hbh.Next(), e2e.Next()
	dpr := add("DPR REBOOTING", true, framing.AppendDPR(nil, h, e, mme, framing.Rebooting),
		with(baseReq(282, h, e), "diameter.Disconnect-Cause", "0"))
	add("DPA 2001", false, framing.AppendDPA(nil, reqHeader(dpr), framing.Success, eir), baseAns(282, h, e, "2001"))
	return out
}

// requireRetransmitOf checks that resent is first with the T flag and Hop-by-Hop hbh, and
// otherwise byte for byte the same (PROTOCOL.md §8 vector 06).
func requireRetransmitOf(t *testing.T, first, resent []byte, hbh uint32) {
	t.Helper()
	want := bytes.Clone(first)
	framing.SetFlags(want, want[4]|framing.FlagRetransmit)
	framing.SetHopByHop(want, hbh)
	require.Equal(t, want, resent, "the T-flag ECR differs from its first copy beyond flags and Hop-by-Hop")
}

// writeConversation writes msgs as one TCP connection (handshake, one segment per message,
// a bare ACK from the server for a request it leaves unanswered, FIN exchange) and records
// each message's frame number.
func writeConversation(msgs []*msg) *pcapWriter {
	w := newPcapWriter(captureT0)
	f := newTCPFlow(w, clientAddr, serverAddr, 0x1b2c3d4e, 0x7a6b5c4d)
	f.handshake()
	for i, m := range msgs {
		f.send(m.fromClient, m.bytes)
		m.frame = w.count
		if m.fromClient && i+1 < len(msgs) && msgs[i+1].fromClient {
			f.ack(false)
		}
	}
	f.closeFromClient()
	// tshark pairs requests and answers by Hop-by-Hop and End-to-End identifiers.
	for _, m := range msgs {
		if m.answerTo != nil {
			m.want["diameter.answer_to"] = strconv.Itoa(m.answerTo.frame)
			m.answerTo.want["diameter.answer_in"] = strconv.Itoa(m.frame)
		}
	}
	return w
}

// writeMessages writes raw messages as one connection, requests (R bit) from the client and
// everything else from the server.
func writeMessages(msgs [][]byte) *pcapWriter {
	w := newPcapWriter(captureT0)
	f := newTCPFlow(w, clientAddr, serverAddr, 0x1b2c3d4e, 0x7a6b5c4d)
	f.handshake()
	for _, m := range msgs {
		f.send(len(m) > 4 && m[4]&framing.FlagRequest != 0, m)
	}
	f.closeFromClient()
	return w
}

// row is one frame of a tshark -T fields decode.
type row map[string]string

// tsharkPath returns tshark's path, or skips the test.
func tsharkPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("DIAMGW_REQUIRE_PEERS") != "" {
			t.Fatalf("DIAMGW_REQUIRE_PEERS is set but tshark is missing: %v", err)
		}
		t.Skipf("tshark not installed: %v", err)
	}
	return p
}

// runTshark runs tshark with args and returns its standard output.
func runTshark(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), tsharkWait)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, tsharkPath(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	require.NoError(t, err, "tshark %s\nstderr: %s", strings.Join(args, " "), stderr.String())
	return stdout.String()
}

// validateArgs makes tshark check the IPv4 and TCP checksums (its defaults do not) and decode
// the server port as Diameter, or as dissect says instead (decode-as and preferences for a TLS
// capture); -2 runs two passes so that requests learn their answer frame.
func validateArgs(file string, dissect ...string) []string {
	if len(dissect) == 0 {
		dissect = []string{"-d", decodeAs}
	}
	return append([]string{"-r", file, "-2", "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE"},
		dissect...)
}

// decode runs tshark -T fields over file (dissected as validateArgs says) and returns one row
// per frame.
func decode(t *testing.T, file string, dissect ...string) []row {
	t.Helper()
	all := append(append([]string(nil), frameFields...), fields...)
	args := append(validateArgs(file, dissect...), "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a",
		"-E", "aggregator=,", "-E", "quote=n")
	for _, f := range all {
		args = append(args, "-e", f)
	}
	out := runTshark(t, args...)
	var rows []row
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		cols := strings.Split(line, "\t")
		require.Len(t, cols, len(all), "tshark row %q", line)
		r := row{}
		for i, f := range all {
			r[f] = cols[i]
		}
		rows = append(rows, r)
	}
	return rows
}

// Expert groups as tshark prints _ws.expert.group (epan/proto.h PI_CHECKSUM .. PI_MALFORMED).
const (
	groupChecksum  = 0x01000000
	groupSequence  = 0x02000000
	groupMalformed = 0x07000000
)

// expertItem is one expert-info entry tshark attached to a frame.
type expertItem struct {
	frame    string
	diameter bool // the frame carries a dissected Diameter message
	severity int
	group    int
	message  string
}

func (e expertItem) String() string {
	return fmt.Sprintf("frame %s: severity %#x group %#x: %s", e.frame, e.severity, e.group, e.message)
}

// expertReport is what tshark says is wrong with a capture, found two ways: the expert items
// of every frame (-T fields -e _ws.expert.*), and the expert tap's summary of warnings and
// errors (-q -z expert,warn), which prints nothing at all for a clean capture.
type expertReport struct {
	items   []expertItem
	summary string
}

// problems returns the expert items that are not the Chat and Note remarks tshark attaches to
// the SYN and FIN segments of a normal TCP connection. Any item on a frame carrying Diameter is
// a problem, whatever its severity.
func (r expertReport) problems() []expertItem {
	var out []expertItem
	for _, e := range r.items {
		if e.diameter || e.group != groupSequence || e.severity > sevNote || !isTCPControl(e.message) {
			out = append(out, e)
		}
	}
	return out
}

// isTCPControl reports the remarks tshark 4.0 makes on the SYN and FIN segments of a connection
// (Chat: the SYN, SYN+ACK and FINs; Note, in two-pass mode: which side closed first).
func isTCPControl(message string) bool {
	for _, p := range []string{
		"Connection establish request (SYN)",
		"Connection establish acknowledge (SYN+ACK)",
		"Connection finish (FIN)",
		"This frame initiates the connection closing",
		"This frame undergoes the connection closing",
	} {
		if strings.HasPrefix(message, p) {
			return true
		}
	}
	return false
}

// expert collects the expert report of file, whose decode is rows.
func expert(t *testing.T, file string, rows []row, dissect ...string) expertReport {
	t.Helper()
	var r expertReport
	for _, fr := range rows {
		if fr["_ws.expert.severity"] == "" {
			continue
		}
		sev := strings.Split(fr["_ws.expert.severity"], ",")
		grp := strings.Split(fr["_ws.expert.group"], ",")
		// The aggregator is a comma, which a message may contain too: when the counts disagree,
		// each item of the frame gets the frame's whole text.
		text := strings.Split(fr["_ws.expert.message"], ",")
		require.Len(t, grp, len(sev), "frame %s", fr["frame.number"])
		for i := range sev {
			e := expertItem{frame: fr["frame.number"], diameter: fr["diameter.cmd.code"] != ""}
			var err error
			e.severity, err = strconv.Atoi(sev[i])
			require.NoError(t, err)
			e.group, err = strconv.Atoi(grp[i])
			require.NoError(t, err)
			if len(text) == len(sev) {
				e.message = text[i]
			} else {
				e.message = fr["_ws.expert.message"]
			}
			r.items = append(r.items, e)
		}
	}
	r.summary = strings.TrimSpace(runTshark(t, append(validateArgs(file, dissect...), "-q", "-z", "expert,warn")...))
	return r
}

// requireClean fails the test when tshark has anything to say about file beyond the TCP
// connection's SYN and FIN remarks, and when a checksum was not verified good.
func requireClean(t *testing.T, file string, rows []row, dissect ...string) {
	t.Helper()
	rep := expert(t, file, rows, dissect...)
	assert.Empty(t, rep.problems(), "expert items")
	assert.Empty(t, rep.summary, "tshark -q -z expert,warn")
	for _, r := range rows {
		// 1 = Good: the checksum was checked and matched (2 would be Unverified).
		assert.Equal(t, "1", r["ip.checksum.status"], "frame %s: IPv4 header checksum status", r["frame.number"])
		assert.Equal(t, "1", r["tcp.checksum.status"], "frame %s: TCP checksum status", r["frame.number"])
		assert.Empty(t, r["tcp.analysis.flags"], "frame %s: TCP analysis flags", r["frame.number"])
		// 31 = SYN, SYN-ACK, ACK, data and FIN all seen: one complete connection.
		assert.Equal(t, "31", r["tcp.completeness"], "frame %s: TCP conversation completeness", r["frame.number"])
	}
}

// writeCapture writes w into a new temporary file and returns its path.
func writeCapture(t *testing.T, w *pcapWriter, name string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name)
	w.writeFile(t, file)
	return file
}

// setAVPLength overwrites the AVP Length of the AVP at off in an encoded message.
func setAVPLength(m []byte, off int, length uint32) {
	m[off+5], m[off+6], m[off+7] = byte(length>>16), byte(length>>8), byte(length)
}

// findAVP returns the offset of the first top-level AVP code/vendor in m.
func findAVP(t *testing.T, m []byte, code, vendor uint32) int {
	t.Helper()
	a, ok, err := framing.Find(m, code, vendor)
	require.NoError(t, err)
	require.True(t, ok, "AVP %d not found", code)
	return a.Offset
}

// findFirst returns the message named name in msgs.
func findFirst(t *testing.T, msgs []*msg, name string) *msg {
	t.Helper()
	for _, m := range msgs {
		if m.name == name {
			return m
		}
	}
	t.Fatalf("no message %q", name)
	return nil
}

// TestWireConformance encodes a whole MME <-> EIR connection with the project's encoders and
// checks it against Wireshark's Diameter dissector (tshark).
func TestWireConformance(t *testing.T) {
	tsharkPath(t)
	msgs := buildConversation(t)
	w := writeConversation(msgs)
	file := writeCapture(t, w, "s13.pcap")
	rows := decode(t, file)
	require.Len(t, rows, w.count, "one decoded row per frame")

	t.Run("decoded fields", func(t *testing.T) {
		ours := map[int]*msg{}
		for _, m := range msgs {
			ours[m.frame] = m
		}
		for i, r := range rows {
			require.Equal(t, strconv.Itoa(i+1), r["frame.number"])
			m := ours[i+1]
			if m == nil {
				assert.Empty(t, r["diameter.cmd.code"], "frame %d carries no message but decodes as Diameter", i+1)
				continue
			}
			for _, f := range fields {
				assert.Equal(t, m.want[f], r[f], "frame %d (%s): %s", m.frame, m.name, f)
			}
		}
	})

	t.Run("no expert items", func(t *testing.T) {
		requireClean(t, file, rows)
	})

	t.Run("expert check fails", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			capture  func(t *testing.T) *pcapWriter
			severity int
			group    int
			message  string // prefix of the expected expert message
		}{{
			name: "Origin-Realm AVP length 255 in DWR",
			capture: func(t *testing.T) *pcapWriter {
				dwr := bytes.Clone(findFirst(t, buildConversation(t), "DWR").bytes)
				setAVPLength(dwr, findAVP(t, dwr, framing.AVPOriginRealm, 0), 255)
				return writeMessages([][]byte{dwr})
			},
			severity: sevError, group: groupMalformed, message: "Wrong AVP(296) length 255",
		}, {
			name: "IMEI AVP length past Terminal-Information in ECR",
			capture: func(t *testing.T) *pcapWriter {
				ecr := bytes.Clone(findFirst(t, buildConversation(t), "ECR").bytes)
				ti, ok, err := framing.Find(ecr, s13.AVPTerminalInformation, s13.VendorID)
				require.NoError(t, err)
				require.True(t, ok)
				it := ti.Grouped()
				require.True(t, it.Next())
				require.Equal(t, s13.AVPIMEI, it.AVP().Code)
				setAVPLength(ecr, it.AVP().Offset, 200)
				return writeMessages([][]byte{ecr})
			},
			severity: sevError, group: groupMalformed, message: "Wrong AVP(1402) length 200",
		}, {
			name: "bad TCP checksum on the CER",
			capture: func(t *testing.T) *pcapWriter {
				msgs := buildConversation(t)
				w := writeConversation(msgs)
				w.frame(msgs[0].frame)[tcpChecksumAt] ^= 0x5a
				return w
			},
			severity: sevError, group: groupChecksum, message: "Bad checksum",
		}, {
			name: "bad IPv4 header checksum on the CEA",
			capture: func(t *testing.T) *pcapWriter {
				msgs := buildConversation(t)
				w := writeConversation(msgs)
				w.frame(msgs[1].frame)[ipChecksumAt] ^= 0x5a
				return w
			},
			severity: sevError, group: groupChecksum, message: "Bad checksum",
		}, {
			name: "TCP sequence gap before the DWR",
			capture: func(t *testing.T) *pcapWriter {
				w := newPcapWriter(captureT0)
				f := newTCPFlow(w, clientAddr, serverAddr, 0x1b2c3d4e, 0x7a6b5c4d)
				f.handshake()
				f.skip(true, 124)
				f.send(true, findFirst(t, buildConversation(t), "DWR").bytes)
				return w
			},
			severity: sevWarn, group: groupSequence, message: "Previous segment(s) not captured",
		}} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				file := writeCapture(t, tc.capture(t), "bad.pcap")
				rep := expert(t, file, decode(t, file))
				found := false
				for _, e := range rep.problems() {
					if e.severity == tc.severity && e.group == tc.group && strings.HasPrefix(e.message, tc.message) {
						found = true
					}
				}
				assert.True(t, found, "no expert item %q (severity %#x, group %#x) among %v",
					tc.message, tc.severity, tc.group, rep.items)
				assert.Contains(t, rep.summary, tc.message, "tshark -q -z expert,warn")
			})
		}
	})

	t.Run("vectors", func(t *testing.T) {
		testVectors(t)
	})
}

// testVectors writes the known-good vectors of PROTOCOL.md §8 through the same pcap writer, which
// must leave tshark nothing to remark, and the three broken ones into captures of their own,
// which tshark must reject as §8 says.
func testVectors(t *testing.T) {
	vec := fixtures.Vectors(t)
	var good []string
	for name := range vec {
		if !strings.HasPrefix(name, "9") {
			good = append(good, name)
		}
	}
	sort.Strings(good)
	require.Len(t, good, 11, "valid vectors 01-11: %v", good)

	t.Run("valid", func(t *testing.T) {
		t.Parallel()
		var raw [][]byte
		for _, n := range good {
			raw = append(raw, vec[n])
		}
		file := writeCapture(t, writeMessages(raw), "vectors.pcap")
		rows := decode(t, file)
		requireClean(t, file, rows)
		var dissected []row
		for _, r := range rows {
			if r["diameter.cmd.code"] != "" {
				dissected = append(dissected, r)
			}
		}
		require.Len(t, dissected, len(good), "one Diameter message per vector")
		for i, r := range dissected {
			h, err := framing.ParseHeader(vec[good[i]])
			require.NoError(t, err, good[i])
			assert.Equal(t, strconv.Itoa(int(h.Code)), r["diameter.cmd.code"], good[i])
			assert.Equal(t, flag(h.IsRequest()), r["diameter.flags.request"], good[i])
			assert.Equal(t, flag(h.IsError()), r["diameter.flags.error"], good[i])
			assert.Equal(t, flag(h.IsRetransmit()), r["diameter.flags.T"], good[i])
			assert.Equal(t, strconv.FormatUint(uint64(h.AppID), 10), r["diameter.applicationId"], good[i])
			assert.Equal(t, fmt.Sprintf("0x%08x", h.HopByHop), r["diameter.hopbyhopid"], good[i])
			assert.Equal(t, fmt.Sprintf("0x%08x", h.EndToEnd), r["diameter.endtoendid"], good[i])
		}
	})

	for _, tc := range []struct {
		name    string
		message string // expected malformed item; "" when tshark must not dissect the message at all
	}{
		{"90_bad_version_dwr", ""},
		{"91_bad_msglen_dwr", ""},
		{"92_bad_avplen_dwr", "Wrong AVP(296) length 255"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, ok := vec[tc.name]
			require.True(t, ok, "vector %s missing", tc.name)
			file := writeCapture(t, writeMessages([][]byte{b}), tc.name+".pcap")
			rows := decode(t, file)
			if tc.message == "" {
				// The segment is handed to the Diameter dissector (decode-as), which finds no PDU
				// in it: "Continuation" data, no command code.
				handed := 0
				for _, r := range rows {
					assert.Empty(t, r["diameter.cmd.code"], "frame %s dissected as Diameter", r["frame.number"])
					if strings.Contains(r["frame.protocols"], ":diameter") {
						handed++
					}
				}
				assert.Equal(t, 1, handed, "frames given to the Diameter dissector")
				return
			}
			rep := expert(t, file, rows)
			found := false
			for _, e := range rep.problems() {
				if e.severity == sevError && e.group == groupMalformed && e.message == tc.message {
					found = true
				}
			}
			assert.True(t, found, "no malformed item %q among %v", tc.message, rep.items)
			assert.Contains(t, rep.summary, tc.message)
		})
	}
}

// flag renders a boolean as tshark -T fields prints FT_BOOLEAN fields.
func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
