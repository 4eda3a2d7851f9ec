package engine

import "github.com/hsdfat8/diam-gw/framing"

// frameHandler receives the messages a reassembler cuts; false stops the cutting.
type frameHandler interface {
	frame(msg []byte) bool
}

// reassembler cuts a TCP byte stream into Diameter messages. Complete messages are handed over in
// place, aliasing the read buffer; only a message cut by the end of a read is copied into partial,
// and the next read copies just the bytes that complete it.
type reassembler struct {
	partial []byte
	max     int    // largest accepted message
	cut     uint64 // messages handed over so far: progress, for the fragment timer
}

// feed cuts data; it returns the framing error that makes the stream unusable, if any.
func (r *reassembler) feed(data []byte, h frameHandler) error {
	if len(r.partial) > 0 {
		var err error
		var more bool
		if data, more, err = r.complete(data, h); err != nil || !more {
			return err
		}
	}
	for len(data) > 0 {
		n, err := framing.FrameLen(data, r.max)
		if err != nil {
			return err
		}
		if n == 0 {
			r.partial = append(r.partial[:0], data...)
			return nil
		}
		r.cut++
		if !h.frame(data[:n]) {
			return nil
		}
		data = data[n:]
	}
	return nil
}

// complete adds to partial the bytes of data it lacks, hands the message over once it is whole,
// and returns the rest of data and whether to go on with it.
func (r *reassembler) complete(data []byte, h frameHandler) ([]byte, bool, error) {
	if len(r.partial) < 4 { // the length field first
		k := min(4-len(r.partial), len(data))
		r.partial = append(r.partial, data[:k]...)
		data = data[k:]
		if len(r.partial) < 4 {
			return nil, false, nil
		}
	}
	if _, err := framing.FrameLen(r.partial[:4], r.max); err != nil {
		r.reset()
		return nil, false, err
	}
	size := int(r.partial[1])<<16 | int(r.partial[2])<<8 | int(r.partial[3])
	k := min(size-len(r.partial), len(data))
	r.partial = append(r.partial, data[:k]...)
	data = data[k:]
	if len(r.partial) < size {
		return nil, false, nil
	}
	msg := r.partial
	r.partial = r.partial[:0]
	r.cut++
	return data, h.frame(msg), nil
}

// reset drops a partial message.
func (r *reassembler) reset() { r.partial = r.partial[:0] }
