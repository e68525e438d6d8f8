package main

// parseJSON is JSON.parse as Node.js 20 (V8 11.3) does it, including the wording and positions of its
// SyntaxError messages, which the TypeScript shim prints in its decode errors. It keeps its own stack
// instead of recursing, so nesting depth does not matter (V8's parser does not recurse either).

import (
	"math"
	"strconv"
)

type token int

const (
	tokEOS token = iota
	tokString
	tokNumber
	tokLBrace
	tokRBrace
	tokLBrack
	tokRBrack
	tokTrue
	tokFalse
	tokNull
	tokWhitespace
	tokColon
	tokComma
	tokIllegal
)

const endOfString = -1

func tokenOf(c int) token {
	switch {
	case c == endOfString:
		return tokEOS
	case c == '"':
		return tokString
	case c == '-' || (c >= '0' && c <= '9'):
		return tokNumber
	case c == '{':
		return tokLBrace
	case c == '}':
		return tokRBrace
	case c == '[':
		return tokLBrack
	case c == ']':
		return tokRBrack
	case c == 't':
		return tokTrue
	case c == 'f':
		return tokFalse
	case c == 'n':
		return tokNull
	case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		return tokWhitespace
	case c == ':':
		return tokColon
	case c == ',':
		return tokComma
	}
	return tokIllegal
}

// Messages V8 gives with a position; the others are chosen by the unexpected token.
const (
	msgPropNameOrRBrace  = "Expected property name or '}' in JSON"
	msgColonAfterName    = "Expected ':' after property name in JSON"
	msgDoubleQuotedName  = "Expected double-quoted property name in JSON"
	msgCommaOrRBrace     = "Expected ',' or '}' after property value in JSON"
	msgCommaOrRBrack     = "Expected ',' or ']' after array element in JSON"
	msgNonWhitespace     = "Unexpected non-whitespace character after JSON"
	msgUnterminated      = "Unterminated string in JSON"
	msgBadControl        = "Bad control character in string literal in JSON"
	msgBadUnicodeEscape  = "Bad Unicode escape in JSON"
	msgBadEscape         = "Bad escaped character in JSON"
	msgNoNumberAfterSign = "No number after minus sign in JSON"
	msgUnterminatedFrac  = "Unterminated fractional number in JSON"
	msgExponentMissing   = "Exponent part is missing a number in JSON"
)

type syntaxError struct{ msg jsString }

type jsonParser struct {
	src  jsString
	pos  int
	next token
	err  *syntaxError
}

func (p *jsonParser) current() int {
	if p.pos >= len(p.src) {
		return endOfString
	}
	return int(p.src[p.pos])
}

func (p *jsonParser) nextChar() int { p.pos++; return p.current() }

func (p *jsonParser) skipWhitespace() {
	p.next = tokEOS
	for ; p.pos < len(p.src); p.pos++ {
		c := int(p.src[p.pos])
		t := tokIllegal
		if c <= 0xFF {
			t = tokenOf(c)
		}
		if t != tokWhitespace {
			p.next = t
			return
		}
	}
}

func (p *jsonParser) check(t token) bool {
	p.skipWhitespace()
	if p.next != t {
		return false
	}
	p.pos++
	return true
}

func (p *jsonParser) expect(t token, msg string) bool {
	if p.next == t {
		p.pos++
		return true
	}
	p.report(p.next, msg)
	return false
}

func (p *jsonParser) expectNext(t token, msg string) bool {
	p.skipWhitespace()
	return p.expect(t, msg)
}

func (p *jsonParser) reportChar(c int) {
	t := tokIllegal
	if c <= 0xFF {
		t = tokenOf(c)
	}
	p.report(t, "")
}

// report records the first error, worded as V8 words it.
func (p *jsonParser) report(t token, msg string) {
	if p.err != nil {
		return
	}
	at := " at position " + strconv.Itoa(p.pos)
	var m jsString
	switch {
	case msg != "":
		m = appendASCII(m, msg+at)
	case t == tokEOS:
		m = appendASCII(m, "Unexpected end of JSON input")
	case t == tokNumber:
		m = appendASCII(m, "Unexpected number in JSON"+at)
	case t == tokString:
		m = appendASCII(m, "Unexpected string in JSON"+at)
	case p.isSpecialString():
		m = append(append(appendASCII(m, `"`), p.src...), appendASCII(nil, `" is not valid JSON`)...)
	default:
		m = appendASCII(m, "Unexpected token '")
		if p.pos < len(p.src) {
			m = append(m, p.src[p.pos])
		}
		m = appendASCII(m, "', ")
		const context = 10
		n := len(p.src)
		switch {
		case n < 2*context+1:
			m = appendASCII(append(appendASCII(m, `"`), p.src...), `"`)
		case p.pos < context:
			m = appendASCII(append(appendASCII(m, `"`), p.src[:p.pos+context]...), `"...`)
		case p.pos < n-context:
			m = appendASCII(append(appendASCII(m, `..."`), p.src[p.pos-context:p.pos+context]...), `"...`)
		default:
			m = appendASCII(append(appendASCII(m, `..."`), p.src[p.pos-context:]...), `"`)
		}
		m = appendASCII(m, " is not valid JSON")
	}
	p.err = &syntaxError{msg: m}
	p.pos = len(p.src)
}

func (p *jsonParser) isSpecialString() bool {
	for _, s := range []string{"[object Object]", "undefined", "Infinity", "NaN"} {
		if p.src.equals(s) {
			return true
		}
	}
	return false
}

type frame struct {
	obj   *object
	arr   *value
	key   jsString
	isObj bool
}

func parseJSON(src jsString) (*value, *syntaxError) {
	p := &jsonParser{src: src}
	var stack []*frame
	var v *value
	for {
		// produce a value
	produce:
		for {
			p.skipWhitespace()
			switch p.next {
			case tokString:
				p.pos++
				v = &value{kind: kindString, str: p.scanString()}
			case tokNumber:
				v = p.parseNumber()
			case tokLBrace:
				p.pos++
				if p.check(tokRBrace) {
					v = &value{kind: kindObject, object: newObject()}
					break produce
				}
				f := &frame{obj: newObject(), isObj: true}
				stack = append(stack, f)
				if !p.expectNext(tokString, msgPropNameOrRBrace) {
					return nil, p.err
				}
				f.key = p.scanString()
				if p.err != nil || !p.expectNext(tokColon, msgColonAfterName) {
					return nil, p.err
				}
				continue
			case tokLBrack:
				p.pos++
				if p.check(tokRBrack) {
					v = &value{kind: kindArray}
					break produce
				}
				stack = append(stack, &frame{arr: &value{kind: kindArray}})
				continue
			case tokTrue:
				p.scanLiteral("true")
				v = &value{kind: kindBool, b: true}
			case tokFalse:
				p.scanLiteral("false")
				v = &value{kind: kindBool}
			case tokNull:
				p.scanLiteral("null")
				v = &value{kind: kindNull}
			default:
				p.reportChar(p.current())
			}
			break
		}
		if p.err != nil {
			return nil, p.err
		}
		// consume it
	consume:
		for {
			if len(stack) == 0 {
				if !p.check(tokEOS) {
					p.report(p.next, msgNonWhitespace)
					return nil, p.err
				}
				return v, nil
			}
			f := stack[len(stack)-1]
			if f.isObj {
				f.obj.set(f.key, v)
				if p.check(tokComma) {
					if !p.expectNext(tokString, msgDoubleQuotedName) {
						return nil, p.err
					}
					f.key = p.scanString()
					if p.err != nil || !p.expectNext(tokColon, "") {
						return nil, p.err
					}
					break consume
				}
				if !p.expect(tokRBrace, msgCommaOrRBrace) {
					return nil, p.err
				}
				v = &value{kind: kindObject, object: f.obj}
			} else {
				f.arr.items = append(f.arr.items, v)
				if p.check(tokComma) {
					break consume
				}
				if !p.expect(tokRBrack, msgCommaOrRBrack) {
					return nil, p.err
				}
				v = f.arr
			}
			stack = stack[:len(stack)-1]
		}
	}
}

func isDigit(c int) bool { return c >= '0' && c <= '9' }

func hexValue(c int) int {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return -1
}

// scanString reads a string whose opening quote is consumed.
func (p *jsonParser) scanString() jsString {
	var out jsString
	for {
		for p.pos < len(p.src) {
			c := p.src[p.pos]
			if c <= 0xFF && (c < 0x20 || c == '"' || c == '\\') {
				break
			}
			out = append(out, c)
			p.pos++
		}
		if p.pos >= len(p.src) {
			p.report(tokIllegal, msgUnterminated)
			return nil
		}
		switch c := p.src[p.pos]; c {
		case '"':
			p.pos++
			return out
		case '\\':
			e := p.nextChar()
			if e < 0 || e > 0xFF {
				p.reportChar(e)
				return nil
			}
			switch e {
			case '"', '\\', '/':
				out = append(out, uint16(e))
			case 'b':
				out = append(out, '\b')
			case 't':
				out = append(out, '\t')
			case 'n':
				out = append(out, '\n')
			case 'f':
				out = append(out, '\f')
			case 'r':
				out = append(out, '\r')
			case 'u':
				u := 0
				for i := 0; i < 4; i++ {
					d := hexValue(p.nextChar())
					if d < 0 {
						p.report(tokIllegal, msgBadUnicodeEscape)
						return nil
					}
					u = u*16 + d
				}
				out = append(out, uint16(u))
			default:
				p.report(tokIllegal, msgBadEscape)
				return nil
			}
			p.pos++
		default:
			p.report(tokIllegal, msgBadControl)
			return nil
		}
	}
}

func isNumberPart(c int) bool {
	return c == '.' || c == 'e' || c == 'E' || isDigit(c) || c == '-' || c == '+'
}

func (p *jsonParser) advanceToNonDecimal() {
	for p.pos < len(p.src) && isDigit(int(p.src[p.pos])) {
		p.pos++
	}
}

func (p *jsonParser) parseNumber() *value {
	start := p.pos
	c := p.current()
	negative := false
	if c == '-' {
		negative = true
		c = p.nextChar()
	}
	if c == '0' {
		c = p.nextChar()
		if c >= 0 && c <= 0xFF && isNumberPart(c) {
			if isDigit(c) {
				p.report(tokNumber, "")
				return nil
			}
		} else if !negative {
			return &value{kind: kindNumber}
		}
	} else {
		first := p.pos
		p.advanceToNonDecimal()
		if first == p.pos {
			p.report(tokIllegal, msgNoNumberAfterSign)
			return nil
		}
	}
	if p.current() == '.' {
		if !isDigit(p.nextChar()) {
			p.report(tokIllegal, msgUnterminatedFrac)
			return nil
		}
		p.advanceToNonDecimal()
	}
	if c := p.current(); c == 'e' || c == 'E' {
		c = p.nextChar()
		if c == '-' || c == '+' {
			c = p.nextChar()
		}
		if !isDigit(c) {
			p.report(tokIllegal, msgExponentMissing)
			return nil
		}
		p.advanceToNonDecimal()
	}
	text := make([]byte, 0, p.pos-start)
	for _, u := range p.src[start:p.pos] {
		text = append(text, byte(u))
	}
	f, err := strconv.ParseFloat(string(text), 64)
	if err != nil && !math.IsInf(f, 0) {
		f = 0 // underflow is reported with a zero of the right sign
		if negative {
			f = math.Copysign(0, -1)
		}
	}
	return &value{kind: kindNumber, num: f}
}

func (p *jsonParser) scanLiteral(word string) {
	remaining := len(p.src) - p.pos
	if remaining >= len(word) && p.src[p.pos:p.pos+len(word)].equals(word) {
		p.pos += len(word)
		return
	}
	p.pos++
	for i := 0; i < len(word)-1 && i < remaining-1; i++ {
		if uint16(word[1+i]) != p.src[p.pos] {
			p.reportChar(int(p.src[p.pos]))
			return
		}
		p.pos++
	}
	p.report(tokEOS, "")
}
