// Package inspect holds walkthrough.sh, a script of the CLI commands an operator types
// to inspect two peers (their IDs and addresses, what each knows of the other, status,
// and the DAG as a graph), and the test that runs it against two daemons and checks
// what it shows. It has no Go code of its own; see README.md.
package inspect
