// Latch's passkey ceremonies (WebAuthn), for the forms marked
// data-options: the form's options are fetched from that same-origin URL
// (go-webauthn's JSON: {"publicKey": {...}}, binary fields base64url),
// navigator.credentials.create (data-mode="create") or .get runs, and the
// credential, as the standard JSON (binary fields base64url), is put in
// the form's passkey_response input and the form submitted. A form with
// data-conditional also offers passkeys in the autofill of the input of
// that id (conditional mediation). Forms stay hidden without WebAuthn;
// the pages work without this script for passwords and codes.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !window.fetch || !window.AbortController) {
    return;
  }

  function toBuffer(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var bin = atob(b64), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toBase64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeOptions(options) {
    var pk = options.publicKey;
    pk.challenge = toBuffer(pk.challenge);
    if (pk.user && typeof pk.user.id === "string") {
      pk.user.id = toBuffer(pk.user.id);
    }
    (pk.allowCredentials || []).concat(pk.excludeCredentials || []).forEach(function (c) {
      c.id = toBuffer(c.id);
    });
    return pk;
  }

  function encodeCredential(cred) {
    var r = cred.response;
    var out = {
      id: cred.id, rawId: toBase64url(cred.rawId), type: cred.type,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toBase64url(r.clientDataJSON) }
    };
    if (cred.authenticatorAttachment) {
      out.authenticatorAttachment = cred.authenticatorAttachment;
    }
    if (r.attestationObject) {
      out.response.attestationObject = toBase64url(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = toBase64url(r.authenticatorData);
      out.response.signature = toBase64url(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toBase64url(r.userHandle);
      }
    }
    return JSON.stringify(out);
  }

  function fetchOptions(form) {
    return fetch(form.dataset.options, {
      method: "POST", credentials: "same-origin", headers: { Accept: "application/json" }
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (body) {
        if (!res.ok) {
          throw new Error(body.error || "The passkey could not be started. Reload the page and try again.");
        }
        return body;
      });
    });
  }

  function showError(form, text) {
    var p = form.querySelector(".passkey-error");
    if (p) {
      p.textContent = text;
      p.hidden = false;
    }
  }

  var pending = null; // the conditional request, aborted by a button

  function ceremony(form, conditional) {
    return fetchOptions(form).then(function (options) {
      var publicKey = decodeOptions(options);
      if (form.dataset.mode === "create") {
        return navigator.credentials.create({ publicKey: publicKey });
      }
      var req = { publicKey: publicKey };
      if (conditional) {
        pending = new AbortController();
        req.mediation = "conditional";
        req.signal = pending.signal;
      }
      return navigator.credentials.get(req);
    }).then(function (cred) {
      if (!cred) {
        return;
      }
      form.querySelector("input[name=passkey_response]").value = encodeCredential(cred);
      form.submit();
    });
  }

  document.querySelectorAll("form[data-options]").forEach(function (form) {
    form.hidden = false;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (pending) {
        pending.abort();
        pending = null;
      }
      ceremony(form, false).catch(function (err) {
        showError(form, err && err.name === "NotAllowedError" ? "No passkey was used. Try again." :
          (err && err.name === "InvalidStateError" ? "This passkey is registered already." :
            (err && err.message) || "The passkey did not work. Try again."));
      });
    });
    if (form.dataset.conditional && PublicKeyCredential.isConditionalMediationAvailable) {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (available) {
          ceremony(form, true).catch(function () {}); // a dismissed autofill is no error
        }
      });
    }
  });
})();
