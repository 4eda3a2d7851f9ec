// Package conformance is the wire-conformance suite of diam-gw. It has no
// code of its own: its tests encode CER/CEA, DWR/DWA, DPR/DPA, ECR/ECA and
// the E-bit answer-message with the framing and s13 encoders, write them as
// one TCP connection into a classic libpcap file (with correct IPv4 and TCP
// checksums and sequence numbers), and ask Wireshark's tshark, an independent
// Diameter dissector, to decode it. They fail when tshark raises an expert
// item or decodes a field differently from what was encoded. The shared test
// vectors (PROTOCOL.md §8) go through the same pcap writer, which checks the
// writer itself. A TLS run (RFC 6733 §13) records a live engine <-> server
// exchange through a relay, writes it the same way and has tshark decrypt it
// with the engine's logged session keys: the Diameter messages must be
// dissected inside TLS, and none without the keys. The tests are skipped when
// tshark is not installed.
package conformance
