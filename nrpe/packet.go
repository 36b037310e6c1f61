// Package nrpe implements the NRPE wire protocol alone: the v2, v3 and v4
// packets, reading them from a stream, and a client. It knows nothing about
// commands, configuration or the agent.
//
// The layouts, with byte offsets, are in docs/nrpe-protocol.md.
package nrpe

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Protocol versions, as they appear in the first two bytes of a packet.
const (
	Version2 = 2
	Version3 = 3
	Version4 = 4
)

// Packet types.
const (
	TypeQuery    = 1
	TypeResponse = 2
)

// Sizes of the wire formats.
const (
	// V2PacketSize is the fixed size of a v2 packet: a 10-byte header, a
	// 1024-byte buffer and 2 padding bytes, all covered by the CRC.
	V2PacketSize = 1036
	// V2BufferSize is the v2 buffer; its last byte is always NUL, so a v2
	// packet carries at most V2BufferSize-1 bytes of text.
	V2BufferSize = 1024
	// HeaderSize is the v3/v4 header that precedes buffer_length bytes.
	HeaderSize = 16
	// V3Trailer is the number of bytes a v3 packet carries after its buffer
	// (the C struct's padding, counted by the v3 code): inside the CRC.
	V3Trailer = 3
	// MaxBufferLength is the largest buffer_length a v3/v4 packet may claim
	// (the stock daemon's 64 KiB); its last byte is the NUL, so a packet
	// carries at most MaxBufferLength-1 bytes of text.
	MaxBufferLength = 65536
)

// CheckCommand is the query that asks a daemon for its version.
const CheckCommand = "_NRPE_CHECK"

// Errors a reader returns; wrapped with detail, test with errors.Is.
var (
	ErrVersion  = errors.New("unsupported packet version")
	ErrCRC      = errors.New("packet CRC mismatch")
	ErrTooLarge = errors.New("packet buffer_length out of range")
)

// Packet is one NRPE query or response. Text is the buffer up to its first
// NUL: the command line of a query, the plugin output of a response.
type Packet struct {
	Version    int
	Type       int
	ResultCode int16
	Text       []byte
}

// MaxText returns how many bytes of text a packet of this version carries.
func MaxText(version int) int {
	if version == Version2 {
		return V2BufferSize - 1
	}
	return MaxBufferLength - 1
}

// EncodeOptions control how a packet is laid out beyond its content.
type EncodeOptions struct {
	// MinSize pads a v3/v4 packet with NULs to at least this many bytes on
	// the wire. check_nrpe pads its v3/v4 queries to 1036 bytes so that an
	// old v2 daemon reads a whole packet; the client does the same.
	MinSize int
}

// Encode lays the packet out for the wire. Text longer than the version
// carries is cut (v2: 1023 bytes, v3/v4: 65535 bytes), as the stock programs
// do; Truncated tells the caller whether that happened.
func (p Packet) Encode(opts EncodeOptions) []byte {
	b, _ := p.encode(opts)
	return b
}

// Truncated reports whether Encode would cut p's text.
func (p Packet) Truncated() bool { return len(p.Text) > MaxText(p.Version) }

func (p Packet) encode(opts EncodeOptions) ([]byte, bool) {
	text := p.Text
	cut := false
	if max := MaxText(p.Version); len(text) > max {
		text, cut = text[:max], true
	}
	var b []byte
	switch p.Version {
	case Version2:
		b = make([]byte, V2PacketSize)
		binary.BigEndian.PutUint16(b[8:], uint16(p.ResultCode))
		copy(b[10:10+V2BufferSize-1], text)
	default: // v3 and v4 share the header
		bl := len(text) + 1
		size := HeaderSize + bl
		if p.Version == Version3 {
			size += V3Trailer
		}
		if size < opts.MinSize {
			bl += opts.MinSize - size
			size = opts.MinSize
		}
		if bl > MaxBufferLength {
			bl = MaxBufferLength
		}
		b = make([]byte, size)
		binary.BigEndian.PutUint16(b[8:], uint16(p.ResultCode))
		binary.BigEndian.PutUint32(b[12:], uint32(bl))
		copy(b[HeaderSize:], text)
	}
	binary.BigEndian.PutUint16(b[0:], uint16(p.Version))
	binary.BigEndian.PutUint16(b[2:], uint16(p.Type))
	binary.BigEndian.PutUint32(b[4:], crc32.ChecksumIEEE(b))
	return b, cut
}

// Checksum returns the CRC a well-formed packet carries: CRC-32/IEEE over
// the whole packet with the CRC field (and, for v3/v4, the alignment bytes
// that the receiver zeroes) set to zero. It does not modify raw.
func Checksum(raw []byte) uint32 {
	h := crc32.NewIEEE()
	var zero [4]byte
	h.Write(raw[:4])
	h.Write(zero[:4])
	if len(raw) >= 12 && binary.BigEndian.Uint16(raw[0:]) != Version2 {
		h.Write(raw[8:10])
		h.Write(zero[:2])
		h.Write(raw[12:])
	} else {
		h.Write(raw[8:])
	}
	return h.Sum32()
}

// Decode parses one complete packet held in raw (as returned by ReadRaw):
// version, size and CRC are checked.
func Decode(raw []byte) (Packet, error) {
	if len(raw) < HeaderSize {
		return Packet{}, fmt.Errorf("packet of %d bytes is shorter than a header: %w", len(raw), io.ErrUnexpectedEOF)
	}
	version := int(binary.BigEndian.Uint16(raw[0:]))
	var buf []byte
	switch version {
	case Version2:
		if len(raw) != V2PacketSize {
			return Packet{}, fmt.Errorf("v2 packet of %d bytes, want %d: %w", len(raw), V2PacketSize, io.ErrUnexpectedEOF)
		}
		buf = raw[10 : 10+V2BufferSize-1] // byte 1023 is forced to NUL
	case Version3, Version4:
		bl, err := bufferLength(raw)
		if err != nil {
			return Packet{}, err
		}
		want := HeaderSize + bl
		if version == Version3 {
			want += V3Trailer
		}
		if len(raw) != want {
			return Packet{}, fmt.Errorf("v%d packet of %d bytes, buffer_length says %d: %w", version, len(raw), want, io.ErrUnexpectedEOF)
		}
		buf = raw[HeaderSize : HeaderSize+bl]
	default:
		return Packet{}, fmt.Errorf("version %d: %w", version, ErrVersion)
	}
	if got, want := binary.BigEndian.Uint32(raw[4:]), Checksum(raw); got != want {
		return Packet{}, fmt.Errorf("v%d packet carries CRC %08x, content gives %08x: %w", version, got, want, ErrCRC)
	}
	if i := indexNUL(buf); i >= 0 {
		buf = buf[:i]
	}
	return Packet{
		Version:    version,
		Type:       int(binary.BigEndian.Uint16(raw[2:])),
		ResultCode: int16(binary.BigEndian.Uint16(raw[8:])),
		Text:       append([]byte(nil), buf...),
	}, nil
}

func indexNUL(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return -1
}

func bufferLength(raw []byte) (int, error) {
	bl := int32(binary.BigEndian.Uint32(raw[12:]))
	if bl < 0 || bl > MaxBufferLength {
		return 0, fmt.Errorf("buffer_length %d (limit %d): %w", bl, MaxBufferLength, ErrTooLarge)
	}
	return int(bl), nil
}

// ReadRaw reads exactly one packet's bytes from r: 1036 bytes for v2, the
// 16-byte header plus buffer_length (plus 3 for v3) for v3/v4. TCP may hand
// a packet over in pieces; ReadRaw keeps reading until it has all of it or
// the reader fails. maxBuffer bounds buffer_length (0 means MaxBufferLength)
// before anything is allocated for it.
func ReadRaw(r io.Reader, maxBuffer int) ([]byte, error) {
	if maxBuffer <= 0 || maxBuffer > MaxBufferLength {
		maxBuffer = MaxBufferLength
	}
	head := make([]byte, HeaderSize, V2PacketSize)
	if n, err := io.ReadFull(r, head); err != nil {
		return nil, fmt.Errorf("reading packet header (%d of %d bytes): %w", n, HeaderSize, err)
	}
	version := int(binary.BigEndian.Uint16(head[0:]))
	var rest int
	switch version {
	case Version2:
		rest = V2PacketSize - HeaderSize
	case Version3, Version4:
		bl, err := bufferLength(head)
		if err != nil {
			return nil, err
		}
		if bl > maxBuffer {
			return nil, fmt.Errorf("buffer_length %d (limit %d): %w", bl, maxBuffer, ErrTooLarge)
		}
		rest = bl
		if version == Version3 {
			rest += V3Trailer
		}
	default:
		return nil, fmt.Errorf("version %d: %w", version, ErrVersion)
	}
	raw := append(head, make([]byte, rest)...)
	if n, err := io.ReadFull(r, raw[HeaderSize:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading v%d packet body (%d of %d bytes): %w", version, n, rest, err)
	}
	return raw, nil
}

// ReadPacket reads and decodes one packet.
func ReadPacket(r io.Reader, maxBuffer int) (Packet, error) {
	raw, err := ReadRaw(r, maxBuffer)
	if err != nil {
		return Packet{}, err
	}
	return Decode(raw)
}

// Response builds the reply to a query of the given version.
func Response(version int, code int16, text []byte) Packet {
	return Packet{Version: version, Type: TypeResponse, ResultCode: code, Text: text}
}
