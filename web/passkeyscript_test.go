package web_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// jsHarness runs static/passkeys.js under Node with a stand-in browser: one
// passkey form whose options carry base64url binary fields, and an
// authenticator answering with known bytes. It prints what the script
// handed navigator.credentials.get and what it put in the form.
const jsHarness = `
const fs = require("fs");
const src = fs.readFileSync(process.argv[2], "utf8");
const buf = (bytes) => new Uint8Array(bytes).buffer;
let listeners = {}, got = null, out = {};
const input = { value: "" };
const form = { dataset: { options: "/login/passkey/options", mode: "get" }, hidden: true,
  addEventListener: (ev, fn) => { listeners[ev] = fn; },
  querySelector: (sel) => sel.startsWith("input") ? input : null,
  submit: () => {
    out.challenge = [...new Uint8Array(got.publicKey.challenge)];
    out.allow = [...new Uint8Array(got.publicKey.allowCredentials[0].id)];
    out.userID = [...new Uint8Array(got.publicKey.user.id)];
    out.shown = !form.hidden;
    out.posted = JSON.parse(input.value);
    console.log(JSON.stringify(out));
  } };
global.window = { PublicKeyCredential: function () {}, fetch: true, AbortController: true };
global.PublicKeyCredential = window.PublicKeyCredential;
global.document = { querySelectorAll: () => [form] };
global.fetch = async (url, init) => {
  out.fetched = url + " " + init.method;
  return { ok: true, json: async () => ({ publicKey: { challenge: "_-8", allowCredentials: [{ id: "AAEC", type: "public-key" }], user: { id: "dXNlcg" } } }) };
};
global.navigator = { credentials: { get: async (req) => { got = req; return {
  id: "cred-id", rawId: buf([0xfb, 0xff]), type: "public-key", authenticatorAttachment: "platform",
  getClientExtensionResults: () => ({}),
  response: { clientDataJSON: buf([0x7b, 0x7d]), authenticatorData: buf([1, 2, 3]), signature: buf([0xff]), userHandle: buf([0x75]) } }; } } };
eval(src);
listeners.submit({ preventDefault() {} });
`

// TestPasskeyScriptConverts: the script turns the options' base64url
// fields into bytes for the browser, and the credential's bytes back into
// base64url (no padding) in go-webauthn's JSON, then submits the form.
func TestPasskeyScriptConverts(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the script is checked by the browser tests")
	}
	dir := t.TempDir()
	harness := filepath.Join(dir, "harness.js")
	if err := os.WriteFile(harness, []byte(jsHarness), 0o600); err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("static/passkeys.js")
	out, err := exec.Command(node, harness, script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct {
		Fetched                  string
		Challenge, Allow, UserID []int
		Shown                    bool
		Posted                   map[string]any
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := `{"authenticatorAttachment":"platform","clientExtensionResults":{},"id":"cred-id","rawId":"-_8",` +
		`"response":{"authenticatorData":"AQID","clientDataJSON":"e30","signature":"_w","userHandle":"dQ"},"type":"public-key"}`
	posted, _ := json.Marshal(got.Posted)
	if got.Fetched != "/login/passkey/options POST" || !got.Shown || string(posted) != want ||
		!equalInts(got.Challenge, 0xff, 0xef) || !equalInts(got.Allow, 0, 1, 2) || !equalInts(got.UserID, 'u', 's', 'e', 'r') {
		t.Errorf("the script: %s\nposted %s\nwant   %s", out, posted, want)
	}
}

func equalInts(got []int, want ...int) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}
