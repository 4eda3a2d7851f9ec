package framing

import "fmt"

// DefaultMaxMessageSize bounds the Message Length accepted from a peer: 64 KiB is far above any
// S13 or base message and keeps a trashed header from making a reader buffer megabytes
// (freeDiameter uses the same 65535 bound, "to avoid too big mallocs").
const DefaultMaxMessageSize = 64 << 10

// MaxMessageLength is the largest length the 24-bit field can carry.
const MaxMessageLength = 1<<24 - 1

// FrameLen is the TCP stream splitter. Given the bytes buffered so far, it returns the length of
// the first complete message, or 0 when more bytes are needed. The header is validated as soon as
// its first four bytes are present, before waiting for the body: version != 1, Message Length
// below 20, not a multiple of 4, or above max (max <= 0 means DefaultMaxMessageSize) are errors,
// and the stream cannot be resynchronised after one (RFC 6733 §2.1: close the transport).
func FrameLen(b []byte, max int) (int, error) {
	n, err := MessageLength(b, max)
	if err != nil || len(b) < n {
		return 0, err
	}
	return n, nil
}

// MessageLength returns the Message Length of the header at the start of b, validated as FrameLen
// validates it, as soon as its first four bytes are present (0 before), whether or not the rest
// of the message is: a reassembler that holds part of a message knows from it how much to add.
func MessageLength(b []byte, max int) (int, error) {
	if len(b) < 4 {
		return 0, nil
	}
	length := be24(b[1:4])
	if err := checkVersionLength(b[0], length); err != nil {
		return 0, err
	}
	if max <= 0 {
		max = DefaultMaxMessageSize
	}
	if int(length) > max {
		return 0, fmt.Errorf("%w: Message Length %d exceeds %d", ErrMessageTooLarge, length, max)
	}
	return int(length), nil
}
