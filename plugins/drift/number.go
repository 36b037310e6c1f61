package drift

import (
	"strconv"
	"unsafe"
)

// pow10 holds the powers of ten a float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseNumber reads a field as strconv.ParseFloat(s, 64) does, bit for bit,
// and so as Python's float() does. Plain decimals such as "-12.345678" (at
// most 15 significant digits, no exponent) take Clinger's exact fast path:
// the digits as an integer below 2^53 divided by an exactly represented
// power of ten, one correctly rounded operation. Anything else goes to
// strconv. ok is false for text that is not a number; NaN and infinities
// are returned as such.
func parseNumber(b []byte) (v float64, ok bool) {
	s := b
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var mant uint64
	digits, fracDigits, significant := 0, 0, 0
	dot := false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			if significant > 0 || c != '0' {
				significant++
				if significant > 15 {
					return parseNumberSlow(b)
				}
			}
			mant = mant*10 + uint64(c-'0')
			digits++
			if dot {
				fracDigits++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return parseNumberSlow(b)
		}
	}
	if digits == 0 || fracDigits >= len(pow10) {
		return parseNumberSlow(b)
	}
	v = float64(mant) / pow10[fracDigits]
	if neg {
		v = -v
	}
	return v, true
}

func parseNumberSlow(b []byte) (float64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
	if err != nil && !isRangeErr(err) {
		return 0, false
	}
	return v, true
}
