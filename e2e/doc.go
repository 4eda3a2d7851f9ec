// Package e2e holds the end-to-end tests of the client against the responder: the real engine
// dialling the real server (gnet on both sides) on 127.0.0.1, with the EIR of package s13/eir as
// the server's handler. It has no code of its own: every test is in a _test.go file.
package e2e
