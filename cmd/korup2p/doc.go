// The korup2p command runs a korup2p peer (korup2p daemon) and reads and writes its
// store: a thin CLI over the root package, one file per subcommand.
//
// # Command tree
//
//	korup2p daemon (start)     the peer: store, libp2p network, HTTP API on 127.0.0.1:4777
//	korup2p put (set) KEY [JSON]   get KEY   del KEY   history (log) KEY   diff KEY [FROM [TO]]
//	korup2p ls [PREFIX]   query NAMESPACE --where …   watch [PREFIX]   batch FILE|-
//	korup2p export FILE|-   import FILE|- [--as NAME]
//	korup2p id   peers   connect MULTIADDR   status
//	korup2p space create NAME [--open] | list | invite [--write|--admin] [--for PEER] [--expires D] [--keys P]…
//	              | join TICKET|NAME [--as NAME]
//	korup2p caps grant PEER --can read|write|admin [--keys P]… [--expires D] [--not-before T]
//	              | revoke CAP_ID | list | token --read|--write|--admin [--space NAME]… [--expires D]
//	              | token --revoke ID|TOKEN
//	korup2p dag heads | log [--graph] | show CID | dot
//	korup2p repair   completion bash|zsh|fish   help
//
// Global flags: --data DIR (KORUP2P_DATA; default $XDG_DATA_HOME/korup2p or
// ~/.local/share/korup2p), --space NAME (KORUP2P_SPACE; default "default"),
// --api HOST:PORT (KORUP2P_API; default read from DATA/api), --json.
//
// # Two backends
//
// The data commands see a replica through the backend interface (backend.go). When
// a daemon owns the data directory — DATA/api names an address whose /healthz
// answers, or --api is given — they go through its HTTP API (remoteBackend, over
// internal/httpapi.Client) with the bearer token in DATA/api.token (or
// KORUP2P_API_TOKEN). Otherwise they open the store directly (localBackend: a
// korup2p.Node without the network) and close it before exiting; the directory is
// locked meanwhile, so a long-running local command (watch) keeps other processes
// out, and says so. DATA/api left behind by a killed daemon is ignored: nothing
// answers there. repair runs only without a daemon.
//
// # Output
//
// Text by default: results on stdout, notes on stderr. --json prints JSON (one
// line; watch prints JSON lines). The shapes are the struct types in output.go,
// status.go, peers.go, query.go and dag.go, and agree with the HTTP API's where
// both have a field: CIDs and peer IDs are strings, a clock is dag.Timestamp.String
// (RFC 3339 with nanoseconds, "+N" for a logical counter), and a "time" field holds
// its wall-clock part, which get --at accepts. status --json has the same shape in
// both modes: the remote backend completes the daemon's status with key counts
// (listed through the API) and sync progress (from its peers).
//
// # Exit codes
//
// 0 success; 1 not found (korup2p.ErrNotFound, ErrNoValueAtTime, an unknown space)
// or an operation that failed; 2 bad usage or invalid input: an unknown flag or
// command, a wrong number of arguments, invalid JSON, an invalid key, value, CID,
// time, filter, space name or invite ticket (a *usageError, or an error wrapping
// ErrInvalidKey, ErrInvalidValue, ErrValueTooLarge, ErrInvalidQuery,
// ErrInvalidVersion, ErrInvalidTicket or httpapi.ErrInvalidRequest). Errors are
// one line on stderr: "korup2p: …".
//
// # Signals
//
// main turns SIGINT and SIGTERM into the cancellation of Run's context; nothing else
// handles signals. The daemon then stops the HTTP API (ending watch streams), removes
// DATA/api and closes the store; watch stops and exits 0.
//
// # The daemon
//
// Zero configuration: korup2p.Open creates the directory, the identity and the
// "default" space on first start. It listens on /ip4/0.0.0.0/tcp/4001 and
// /ip4/0.0.0.0/udp/4001/quic-v1 (on ports the system picks, with a warning, if
// 4001 is taken), runs mDNS unless --no-mdns, and dials only --bootstrap peers and
// those it finds or is told to connect to. It keeps the API's master token, 32
// bytes in hex, in DATA/api.token (0600; made on the first start, or when the file
// is gone), writes the bound API address to DATA/api, and prints one line with the
// peer ID, its addresses and the API address.
//
// # API tokens
//
// The master token allows every route. caps token mints tokens of limited ability
// (read, write, admin), spaces and lifetime for apps (httpapi.MintToken:
// k2a1.PAYLOAD.MAC, an HMAC keyed by the master token): offline from
// DATA/api.token, or through a daemon with the token the CLI holds (never wider
// than it), and prints the token on stdout and its ID (httpapi.TokenID, 16 hex
// digits) on stderr. Minting keeps no state; revocation does: caps token
// --revoke ID|TOKEN revokes one token, through the daemon (DELETE
// /v1/tokens/{id}) if one is running, else by adding its ID to DATA/api.revoked
// (0600, one ID a line, '#' comments), which the daemon reads at start and again
// whenever the file changes (httpapi.RevocationFile); a bad line is a warning,
// never a failure. Deleting DATA/api.token before a daemon start rotates the
// master token and still voids every minted token at once.
//
// # Sharing
//
// space invite prints a ticket (korup2p.Node.Invite) and space join takes one:
// through a daemon, the joiner connects to the inviter's addresses in the ticket
// and syncs; without one, the space is added and syncs later. export and import
// move a space as a CAR v1 file (streamed to and from the daemon, or through the
// Node); a progress bar (schollz/progressbar) shows on stderr for long work when
// stderr is a terminal and --json is not given.
//
// # Capabilities
//
// In a restricted space, caps grant issues a capability token (korup2p.Node.Grant),
// caps revoke withdraws one and everything delegated from it, caps list shows the
// tokens held and their status; an open space refuses them (korup2p.ErrOpenSpace).
// An invite ticket carries a capability (read by default). A refusal names its
// rule — "capability denied: REASON: …", a *caps.Denied through the daemon too —
// and exits 1, as does an API token's refusal ("API token refused (REASON)").
package main
