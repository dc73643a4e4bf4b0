// Package password hashes and checks passwords.
//
// New hashes are argon2id PHC strings. Verify also accepts argon2i (older
// deployments, passlib) and, for accounts imported from other systems,
// bcrypt, scrypt and PBKDF2-SHA256 (passlib, PHC-style and Django
// encodings), and says when a hash should be replaced by one at the
// current parameters. CheckImport vets a hash before it is imported:
// format, and costs within the import caps. A Hasher bounds how
// many hashes run at once, because each argon2 call holds MemoryKiB of RAM:
// without a bound, a burst of logins is a memory exhaustion attack. Policy
// is the NIST SP 800-63B baseline: length, a blocklist of common passwords,
// and nothing built from the account's email.
//
// Every function here expects a password already passed through Normalize,
// so that the same text typed on two keyboards hashes the same.
package password
