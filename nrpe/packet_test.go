package nrpe

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// Packets captured from check_nrpe 4.1.0 and nrpe 4.1.0 (see
// /work/shared/notes/nrpe.md §1): our encoder must produce the same bytes,
// and our decoder must accept them.
func TestEncodeMatchesCaptures(t *testing.T) {
	tests := []struct {
		name   string
		p      Packet
		min    int
		size   int
		header string // first 16 bytes, hex
	}{
		{"v4 query check_load", Packet{Version: 4, Type: TypeQuery, Text: []byte("check_load")}, V2PacketSize, 1036,
			"00040001de6f9b4e00000000000003fc"},
		{"v3 query check_load", Packet{Version: 3, Type: TypeQuery, Text: []byte("check_load")}, V2PacketSize, 1036,
			"00030001955dd9ff00000000000003f9"},
		{"v3 query with argument", Packet{Version: 3, Type: TypeQuery, Text: []byte("check_dummy!x")}, V2PacketSize, 1036,
			"00030001d89be4e5"},
		{"v4 reply to _NRPE_CHECK", Packet{Version: 4, Type: TypeResponse, Text: []byte("NRPE v4.1.0")}, 0, 28,
			"000400020daad245000000000000000c"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.p.Encode(EncodeOptions{MinSize: tc.min})
			if len(b) != tc.size {
				t.Fatalf("size %d, want %d", len(b), tc.size)
			}
			if got := hex.EncodeToString(b[:len(tc.header)/2]); got != tc.header {
				t.Errorf("header %s, want %s", got, tc.header)
			}
			p, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(p.Text, tc.p.Text) || p.Version != tc.p.Version || p.Type != tc.p.Type {
				t.Errorf("round trip gave %+v", p)
			}
		})
	}
}

// check_nrpe fills a v2 query's result_code and padding with random bytes;
// they are inside the CRC and must not be validated.
func TestDecodeV2WithRandomFields(t *testing.T) {
	tests := []struct {
		text    string
		typ     int
		rc, pad string
		crc     string
	}{
		{"check_load", TypeQuery, "_u", "Ks", "417d0439"},
		{"check_dummy!x", TypeQuery, "e_", "7k", "17624b4d"},
		{"NRPE v4.1.0", TypeResponse, "\x00\x00", "g<", "6fe29698"},
	}
	for _, tc := range tests {
		raw := make([]byte, V2PacketSize)
		binary.BigEndian.PutUint16(raw[0:], 2)
		binary.BigEndian.PutUint16(raw[2:], uint16(tc.typ))
		crc, _ := hex.DecodeString(tc.crc)
		copy(raw[4:], crc)
		copy(raw[8:], tc.rc)
		copy(raw[10:], tc.text)
		copy(raw[1034:], tc.pad)
		p, err := Decode(raw)
		if err != nil {
			t.Fatalf("%s: %v", tc.text, err)
		}
		if string(p.Text) != tc.text {
			t.Errorf("text %q, want %q", p.Text, tc.text)
		}
	}
}

func TestTruncation(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 70000)
	tests := []struct {
		version int
		want    int
		size    int
	}{
		{2, 1023, 1036},
		{4, 65535, 16 + 65536},
		{3, 65535, 16 + 65536 + 3},
	}
	for _, tc := range tests {
		p := Response(tc.version, 1, long)
		if !p.Truncated() {
			t.Errorf("v%d: Truncated() false", tc.version)
		}
		b := p.Encode(EncodeOptions{})
		if len(b) != tc.size {
			t.Errorf("v%d: %d bytes on the wire, want %d", tc.version, len(b), tc.size)
		}
		got, err := ReadPacket(bytes.NewReader(b), 0)
		if err != nil {
			t.Fatalf("v%d: %v", tc.version, err)
		}
		if len(got.Text) != tc.want || got.ResultCode != 1 {
			t.Errorf("v%d: %d bytes of text rc %d, want %d rc 1", tc.version, len(got.Text), got.ResultCode, tc.want)
		}
	}
	if Response(4, 0, long[:65535]).Truncated() {
		t.Error("65535 bytes fit a v4 packet")
	}
}

// A packet delivered one byte at a time is read whole.
func TestReadInPieces(t *testing.T) {
	for _, v := range []int{2, 3, 4} {
		want := Packet{Version: v, Type: TypeQuery, Text: []byte("check_users!a b")}
		b := want.Encode(EncodeOptions{MinSize: V2PacketSize})
		got, err := ReadPacket(iotest.OneByteReader(bytes.NewReader(b)), 0)
		if err != nil {
			t.Fatalf("v%d: %v", v, err)
		}
		if string(got.Text) != string(want.Text) {
			t.Errorf("v%d: %q", v, got.Text)
		}
	}
}

func TestReadRejects(t *testing.T) {
	good := Packet{Version: 4, Type: TypeQuery, Text: []byte("check_load")}.Encode(EncodeOptions{})
	badCRC := append([]byte(nil), good...)
	badCRC[20] ^= 1
	huge := append([]byte(nil), good[:16]...)
	binary.BigEndian.PutUint32(huge[12:], 65537)
	negative := append([]byte(nil), good[:16]...)
	binary.BigEndian.PutUint32(negative[12:], 0xffffffff)
	v5 := append([]byte(nil), good...)
	v5[1] = 5
	tests := []struct {
		name string
		raw  []byte
		want error
	}{
		{"bad CRC", badCRC, ErrCRC},
		{"buffer_length past 64 KiB", huge, ErrTooLarge},
		{"negative buffer_length", negative, ErrTooLarge},
		{"version 5", v5, ErrVersion},
		{"truncated body", good[:len(good)-1], io.ErrUnexpectedEOF},
		{"truncated header", good[:7], io.ErrUnexpectedEOF},
		{"truncated v2", Packet{Version: 2, Type: 1}.Encode(EncodeOptions{})[:1000], io.ErrUnexpectedEOF},
		{"garbage", []byte(strings.Repeat("GET / HTTP/1.1\r\n", 4)), ErrVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadPacket(bytes.NewReader(tc.raw), 0)
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
	// A caller's tighter bound applies before the body is read.
	q := Packet{Version: 4, Type: TypeQuery, Text: bytes.Repeat([]byte("a"), 5000)}.Encode(EncodeOptions{})
	if _, err := ReadPacket(bytes.NewReader(q), 4096); !errors.Is(err, ErrTooLarge) {
		t.Errorf("5000-byte query with a 4096 bound: %v", err)
	}
}

func TestQueryText(t *testing.T) {
	if got := QueryText(""); got != "_NRPE_CHECK" {
		t.Error(got)
	}
	if got := QueryText("check_x", "1", "two words"); got != "check_x!1!two words" {
		t.Error(got)
	}
}

func FuzzReadPacket(f *testing.F) {
	for _, v := range []int{2, 3, 4} {
		f.Add(Packet{Version: v, Type: 1, Text: []byte("check_load")}.Encode(EncodeOptions{MinSize: V2PacketSize}))
		f.Add(Packet{Version: v, Type: 2, ResultCode: 2, Text: []byte("CRITICAL")}.Encode(EncodeOptions{}))
	}
	f.Add([]byte{0, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadPacket(bytes.NewReader(data), 0)
		if err != nil {
			return
		}
		if len(p.Text) > MaxText(p.Version) || bytes.IndexByte(p.Text, 0) >= 0 {
			t.Fatalf("decoded text of %d bytes with a NUL or over the limit", len(p.Text))
		}
		// What decodes re-encodes to a packet that decodes the same.
		again, err := ReadPacket(bytes.NewReader(p.Encode(EncodeOptions{})), 0)
		if err != nil {
			t.Fatalf("re-encoded packet rejected: %v", err)
		}
		if !bytes.Equal(again.Text, p.Text) || again.ResultCode != p.ResultCode || again.Type != p.Type || again.Version != p.Version {
			t.Fatalf("round trip changed %+v into %+v", p, again)
		}
	})
}
