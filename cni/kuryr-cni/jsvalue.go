package main

// Parsed JSON values with JavaScript's semantics, so that what the TypeScript shim prints through
// JSON.parse and JSON.stringify (key order, numbers, escapes) comes out the same here.

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

type valueKind int

const (
	kindNull valueKind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

type value struct {
	kind   valueKind
	b      bool
	num    float64
	str    jsString
	items  []*value
	object *object
}

// object keeps JavaScript's own-property order: array-index keys ascending, then the others in the
// order they were first defined; a repeated key keeps its place and takes the last value.
type object struct {
	keys   []jsString
	values map[string]*value
}

func newObject() *object { return &object{values: map[string]*value{}} }

func (o *object) set(k jsString, v *value) {
	name := string(k.utf8BytesExact())
	if _, ok := o.values[name]; !ok {
		o.keys = append(o.keys, k)
	}
	o.values[name] = v
}

func (o *object) get(k string) *value { return o.values[string(js(k).utf8BytesExact())] }

// utf8BytesExact is a lossless map key for a string that may hold lone surrogates.
func (s jsString) utf8BytesExact() []byte {
	out := make([]byte, 2*len(s))
	for i, c := range s {
		out[2*i], out[2*i+1] = byte(c>>8), byte(c)
	}
	return out
}

func arrayIndex(k jsString) (uint32, bool) {
	if len(k) == 0 || len(k) > 10 || (k[0] == '0' && len(k) > 1) {
		return 0, false
	}
	var n uint64
	for _, c := range k {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return uint32(n), n < math.MaxUint32
}

func (o *object) ordered() []jsString {
	var idx, named []jsString
	for _, k := range o.keys {
		if _, ok := arrayIndex(k); ok {
			idx = append(idx, k)
		} else {
			named = append(named, k)
		}
	}
	sort.SliceStable(idx, func(i, j int) bool {
		a, _ := arrayIndex(idx[i])
		b, _ := arrayIndex(idx[j])
		return a < b
	})
	return append(idx, named...)
}

func (v *value) isEmptyObject() bool {
	return (v.kind == kindObject && len(v.object.keys) == 0) || (v.kind == kindArray && len(v.items) == 0)
}

// stringify is JSON.stringify(v); it stops early once the output is longer than limit (limit < 0: no limit).
func (v *value) stringify(out jsString, limit int) jsString {
	if limit >= 0 && len(out) > limit {
		return out
	}
	switch v.kind {
	case kindNull:
		return appendASCII(out, "null")
	case kindBool:
		if v.b {
			return appendASCII(out, "true")
		}
		return appendASCII(out, "false")
	case kindNumber:
		if math.IsInf(v.num, 0) || math.IsNaN(v.num) {
			return appendASCII(out, "null")
		}
		return appendASCII(out, numberToString(v.num))
	case kindString:
		return appendQuoted(out, v.str)
	case kindArray:
		out = append(out, '[')
		for i, item := range v.items {
			if i > 0 {
				out = append(out, ',')
			}
			out = item.stringify(out, limit)
			if limit >= 0 && len(out) > limit {
				return out
			}
		}
		return append(out, ']')
	default:
		out = append(out, '{')
		for i, k := range v.object.ordered() {
			if i > 0 {
				out = append(out, ',')
			}
			out = appendQuoted(out, k)
			out = append(out, ':')
			out = v.object.values[string(k.utf8BytesExact())].stringify(out, limit)
			if limit >= 0 && len(out) > limit {
				return out
			}
		}
		return append(out, '}')
	}
}

// toJSString is String(v), as a template literal converts it.
func (v *value) toJSString(out jsString) jsString {
	switch v.kind {
	case kindNull:
		return appendASCII(out, "null")
	case kindBool, kindNumber:
		if v.kind == kindNumber && math.IsInf(v.num, 1) {
			return appendASCII(out, "Infinity")
		} else if v.kind == kindNumber && math.IsInf(v.num, -1) {
			return appendASCII(out, "-Infinity")
		}
		return v.stringify(out, -1)
	case kindString:
		return append(out, v.str...)
	case kindArray: // Array.prototype.join: null and undefined elements are empty
		for i, item := range v.items {
			if i > 0 {
				out = append(out, ',')
			}
			if item.kind != kindNull {
				out = item.toJSString(out)
			}
		}
		return out
	default:
		return appendASCII(out, "[object Object]")
	}
}

// numberToString is ECMAScript's Number::toString for finite numbers.
func numberToString(f float64) string {
	if f == 0 {
		return "0"
	}
	sign := ""
	if f < 0 {
		sign, f = "-", -f
	}
	// shortest round-trip digits and exponent: d.ddddde±x
	e := strconv.FormatFloat(f, 'e', -1, 64)
	mant, expPart, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expPart)
	k := len(digits)
	n := exp + 1
	switch {
	case k <= n && n <= 21:
		return sign + digits + strings.Repeat("0", n-k)
	case 0 < n && n <= 21:
		return sign + digits[:n] + "." + digits[n:]
	case -6 < n && n <= 0:
		return sign + "0." + strings.Repeat("0", -n) + digits
	}
	es := "+"
	if n-1 < 0 {
		es = "-"
	}
	ev := n - 1
	if ev < 0 {
		ev = -ev
	}
	if k == 1 {
		return sign + digits + "e" + es + strconv.Itoa(ev)
	}
	return sign + digits[:1] + "." + digits[1:] + "e" + es + strconv.Itoa(ev)
}
