// Package nodetest builds what tests of access control hand to a peer: ops with
// JSON values, and CAR files of a space's nodes, as a peer or Export would make
// them — including nodes no honest peer would sign. Tests only.
package nodetest
