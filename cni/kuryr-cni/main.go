// Command kuryr-cni is the CNI plugin executable: it reads the CNI environment and stdin, answers
// VERSION itself and forwards every other call to the kuryr node daemon over its unix socket, then
// prints the answer. It is the compiled twin of src/northbound/cni/shim.ts (runShim) and prints the
// same bytes for the same input (test/unit/cni-shim-go.test.ts runs both); it exists because starting
// Node.js for every CNI call costs 60-170 ms, starting this costs about 2 ms. Standard library only.
package main

import (
	"io"
	"os"
	"strconv"
)

// The protocol's constants, as src/northbound/cni/protocol.ts defines them.
const (
	defaultDaemonSocket = "/run/kuryr/cni.sock"
	socketConfigKey     = "kuryr_socket"
	timeoutConfigKey    = "kuryr_timeout"
	defaultTimeoutS     = 300
	daemonMethod        = "Cni.Exec"
	codeInvalidEnv      = 4
	codeDecodeFailure   = 6
	codeInvalidConfig   = 7
	codeTryAgainLater   = 11
	codeInternal        = 999
)

var (
	supportedVersions = []string{"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"}
	cniEnvKeys        = []string{"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"}
)

func main() {
	stdin, _ := io.ReadAll(os.Stdin)
	env := func(key string) (jsString, bool) {
		v, ok := os.LookupEnv(key)
		return js(v), ok
	}
	out, code := runShim(env, stdin)
	os.Stdout.Write(out.utf8Bytes())
	os.Exit(code)
}

func str(s jsString) *value { return &value{kind: kindString, str: s} }

// runShim runs one CNI call; every failure is a CNI error on stdout with exit code 1.
func runShim(env func(string) (jsString, bool), stdinBytes []byte) (jsString, int) {
	stdin := decodeUTF8(stdinBytes)
	cniVersion := js("1.1.0")
	fail := func(code int, msg jsString, details jsString) (jsString, int) {
		e := newObject()
		e.set(js("cniVersion"), str(cniVersion))
		e.set(js("code"), &value{kind: kindNumber, num: float64(code)})
		e.set(js("msg"), str(msg))
		if len(details) > 0 {
			e.set(js("details"), str(details))
		}
		return append((&value{kind: kindObject, object: e}).stringify(nil, -1), '\n'), 1
	}
	config := newObject()
	if !stdin.isBlank() {
		parsed, err := parseJSON(stdin)
		if err != nil {
			return fail(codeDecodeFailure, append(js("failed to decode network configuration on stdin: "), err.msg...), nil)
		}
		if parsed.kind != kindObject {
			return fail(codeDecodeFailure, js("network configuration on stdin is not a JSON object"), nil)
		}
		config = parsed.object
	}
	if v := config.get("cniVersion"); v != nil && v.kind == kindString {
		cniVersion = v.str
	}
	command, _ := env("CNI_COMMAND")
	if len(command) == 0 {
		return fail(codeInvalidEnv, js("CNI_COMMAND is not set"), nil)
	}
	if command.equals("VERSION") {
		reply := newObject()
		reply.set(js("cniVersion"), str(cniVersion))
		versions := &value{kind: kindArray}
		for _, v := range supportedVersions {
			versions.items = append(versions.items, str(js(v)))
		}
		reply.set(js("supportedVersions"), versions)
		return append((&value{kind: kindObject, object: reply}).stringify(nil, -1), '\n'), 0
	}
	// Every other command needs the network configuration; saying so here keeps the answer the same
	// whether or not the daemon is up.
	if stdin.isBlank() {
		return fail(codeDecodeFailure, append(append(js("network configuration on stdin is empty; "), command...), js(" needs it")...), nil)
	}

	configured := config.get(socketConfigKey)
	if configured != nil && configured.kind == kindNull {
		configured = nil // JSON null counts as not set
	}
	if configured != nil && (configured.kind != kindString || len(configured.str) == 0 || configured.str[0] != '/') {
		shown := configured.stringify(nil, 200).prefix(200)
		return fail(codeInvalidConfig, append(js(socketConfigKey+" must be the absolute path of the kuryr-daemon socket, not "), shown...), nil)
	}
	socketPath := js(defaultDaemonSocket)
	if configured != nil {
		socketPath = configured.str
	}
	timeout := float64(defaultTimeoutS)
	if t := config.get(timeoutConfigKey); t != nil && t.kind != kindNull {
		if t.kind != kindNumber || !(t.num > 0 && t.num <= 3600) {
			shown := t.stringify(nil, 200).prefix(200)
			return fail(codeInvalidConfig, append(js(timeoutConfigKey+" must be a number of seconds above 0 and at most 3600, not "), shown...), nil)
		}
		timeout = t.num
	}
	forwarded := newObject()
	for _, key := range cniEnvKeys {
		if v, ok := env(key); ok {
			forwarded.set(js(key), str(v))
		}
	}
	// The configuration goes on as the runtime wrote it.
	payload := appendASCII(nil, `{"env":`)
	payload = (&value{kind: kindObject, object: forwarded}).stringify(payload, -1)
	payload = append(appendASCII(payload, `,"config":`), stdin...)
	payload = append(payload, '}')
	answer, failed := post(socketPath, payload.utf8Bytes(), timeout)
	if failed != nil && failed.timedOut {
		msg := append(append(js("kuryr-daemon at "), socketPath...), js(" did not answer within "+numberToString(timeout)+" s ("+timeoutConfigKey+")")...)
		return fail(codeTryAgainLater, msg, nil)
	}
	if failed != nil {
		from := socketConfigKey
		if configured == nil {
			from = "the default socket: " + socketConfigKey + " is not set in the network configuration"
		}
		msg := append(append(js("kuryr-daemon is not reachable at "), socketPath...), js(" ("+from+"): ")...)
		return fail(codeTryAgainLater, append(msg, js(failed.msg)...), nil)
	}
	status := strconv.Itoa(answer.status)
	text := decodeUTF8(answer.body)
	body := &value{kind: kindObject, object: newObject()}
	if !text.isBlank() {
		parsed, err := parseJSON(text)
		if err != nil {
			return fail(codeInternal, js("kuryr-daemon answered "+status+" with a non-JSON body"), text.prefix(500))
		}
		body = parsed
	}
	if answer.status == 200 {
		if body.isEmptyObject() {
			return nil, 0
		}
		return append(body.stringify(nil, -1), '\n'), 0
	}
	e := newObject()
	if body.kind == kindObject {
		e = body.object
	}
	code, msg := e.get("code"), e.get("msg")
	if code != nil && code.kind == kindNumber && msg != nil && msg.kind == kindString {
		e.set(js("cniVersion"), str(cniVersion))
		return append((&value{kind: kindObject, object: e}).stringify(nil, -1), '\n'), 1
	}
	errText := e.get("Err")
	if errText != nil && errText.kind == kindNull {
		errText = nil
	}
	if answer.status == 413 {
		why := js(status)
		if errText != nil {
			why = errText.toJSString(nil)
		}
		return fail(codeInvalidConfig, append(js("network configuration on stdin is too large for kuryr-daemon: "), why...), nil)
	}
	why := text.prefix(500)
	if errText != nil {
		why = errText.toJSString(nil)
	}
	return fail(codeInternal, append(js("kuryr-daemon answered "+status+": "), why...), nil)
}
