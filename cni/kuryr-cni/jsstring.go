package main

// JavaScript strings are UTF-16 code units. The TypeScript shim computes every message on such strings
// (positions, slices and escapes count code units), so this shim does the same to print the same bytes.

import "unicode/utf8"

type jsString []uint16

// decodeUTF8 turns bytes into a JavaScript string the way Node's Buffer#toString('utf8') does: each
// maximal invalid subsequence becomes one U+FFFD (the WHATWG decoder), a byte order mark is kept.
func decodeUTF8(b []byte) jsString {
	out := make(jsString, 0, len(b))
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			out = append(out, uint16(c))
			i++
			continue
		}
		need, lower, upper := 0, byte(0x80), byte(0xBF)
		var cp rune
		switch {
		case c >= 0xC2 && c <= 0xDF:
			need, cp = 1, rune(c&0x1F)
		case c >= 0xE0 && c <= 0xEF:
			need, cp = 2, rune(c&0x0F)
			if c == 0xE0 {
				lower = 0xA0
			} else if c == 0xED {
				upper = 0x9F
			}
		case c >= 0xF0 && c <= 0xF4:
			need, cp = 3, rune(c&0x07)
			if c == 0xF0 {
				lower = 0x90
			} else if c == 0xF4 {
				upper = 0x8F
			}
		default:
			out = append(out, 0xFFFD)
			i++
			continue
		}
		j := i + 1
		ok := true
		for k := 0; k < need; k++ {
			if j >= len(b) || b[j] < lower || b[j] > upper {
				ok = false
				break
			}
			cp = cp<<6 | rune(b[j]&0x3F)
			lower, upper = 0x80, 0xBF
			j++
		}
		if !ok {
			out = append(out, 0xFFFD)
			i = j
			continue
		}
		out = appendRune(out, cp)
		i = j
	}
	return out
}

func appendRune(s jsString, r rune) jsString {
	if r < 0x10000 {
		return append(s, uint16(r))
	}
	r -= 0x10000
	return append(s, uint16(0xD800+(r>>10)), uint16(0xDC00+(r&0x3FF)))
}

func js(s string) jsString { return decodeUTF8([]byte(s)) }

// utf8Bytes encodes like Buffer.from(string): a lone surrogate becomes U+FFFD.
func (s jsString) utf8Bytes() []byte {
	out := make([]byte, 0, len(s))
	var buf [4]byte
	for i := 0; i < len(s); i++ {
		c := rune(s[i])
		if c >= 0xD800 && c <= 0xDBFF && i+1 < len(s) && s[i+1] >= 0xDC00 && s[i+1] <= 0xDFFF {
			c = 0x10000 + (c-0xD800)<<10 + rune(s[i+1]-0xDC00)
			i++
		} else if c >= 0xD800 && c <= 0xDFFF {
			c = 0xFFFD
		}
		n := utf8.EncodeRune(buf[:], c)
		out = append(out, buf[:n]...)
	}
	return out
}

func (s jsString) String() string { return string(s.utf8Bytes()) }

// isJSWhitespace is String.prototype.trim's set: WhiteSpace and LineTerminator of ECMAScript.
func isJSWhitespace(c uint16) bool {
	switch c {
	case 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return c >= 0x2000 && c <= 0x200A
}

func (s jsString) isBlank() bool {
	for _, c := range s {
		if !isJSWhitespace(c) {
			return false
		}
	}
	return true
}

// slice is String.prototype.slice(0, n).
func (s jsString) prefix(n int) jsString {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func (s jsString) equals(t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(t); i++ {
		if s[i] != uint16(t[i]) {
			return false
		}
	}
	return true
}

const hexDigits = "0123456789abcdef"

// appendQuoted is JSON.stringify of a string: only quote, backslash, control characters and lone
// surrogates are escaped.
func appendQuoted(out jsString, s jsString) jsString {
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c == '\b':
			out = append(out, '\\', 'b')
		case c == '\f':
			out = append(out, '\\', 'f')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c == '\t':
			out = append(out, '\\', 't')
		case c < 0x20:
			out = appendUnicodeEscape(out, c)
		case c >= 0xD800 && c <= 0xDBFF:
			if i+1 < len(s) && s[i+1] >= 0xDC00 && s[i+1] <= 0xDFFF {
				out = append(out, c, s[i+1])
				i++
			} else {
				out = appendUnicodeEscape(out, c)
			}
		case c >= 0xDC00 && c <= 0xDFFF:
			out = appendUnicodeEscape(out, c)
		default:
			out = append(out, c)
		}
	}
	return append(out, '"')
}

func appendUnicodeEscape(out jsString, c uint16) jsString {
	return append(out, '\\', 'u', uint16(hexDigits[c>>12]), uint16(hexDigits[c>>8&15]), uint16(hexDigits[c>>4&15]), uint16(hexDigits[c&15]))
}

func appendASCII(out jsString, s string) jsString {
	for i := 0; i < len(s); i++ {
		out = append(out, uint16(s[i]))
	}
	return out
}
