// Command notes is a local-first notes app on two devices, a laptop and a phone:
// two korup2p Nodes in two temporary data directories, networked on 127.0.0.1
// only (no mDNS), sharing the open space "notes".
//
// It runs three acts and prints both devices' notes after each:
//
//  1. online: the phone connects to the laptop; each writes a note and both
//     hold both notes;
//  2. offline: the devices block each other ("airplane mode") and both edit
//     the same note, different fields — the laptop its title, the phone its
//     body — and each writes a note of its own;
//  3. back online: the phone connects again, the devices sync, and both hold
//     the same notes: the shared note has the laptop's title and the phone's
//     body, merged three-way with no conflict.
//
// Run it with
//
//	go run ./examples/notes
package main
