// Package httpapi is the korup2p daemon's local HTTP API: NewServer serves a
// *korup2p.Node, and Client calls it with the root package's types and errors, so
// the CLI can treat a daemon and a store opened directly alike.
//
// # What it owns
//
// The routes, their JSON bodies (the wire types, converted to and from the root
// types at this edge: CIDs, peer IDs and clocks travel as strings), the mapping of
// root errors to HTTP statuses and back, bearer-token authentication and the API
// tokens of limited ability (token.go, auth.go) with their revocation list
// (revocations.go: the Revocations interface, in memory and in a file), and the
// Prometheus registry at /metrics. It owns no state of the store and starts no
// goroutines of its own but for a Client's watch streams.
//
// # Routes
//
// Every route but /healthz requires `Authorization: Bearer TOKEN` (see API tokens
// for what each needs). {space} is a
// space name or a space ID (the genesis CID string; a name wins if both match);
// {key...} may hold slashes, escaped (%2F) or not — the Client escapes them when a
// key has empty, "." or ".." segments, which the router would otherwise clean.
//
//	PUT    /v1/spaces/{space}/keys/{key...}    body: the JSON value      → {key, version, clock}
//	PATCH  /v1/spaces/{space}/keys/{key...}    body: a JSON merge patch  → {key, version, clock}
//	DELETE /v1/spaces/{space}/keys/{key...}                              → {key, version, clock}
//	GET    /v1/spaces/{space}/keys/{key...}    ?at=RFC3339|unix-ms, or ?heads=CID,CID
//	       → {key, value, version, clock, author, heads, conflicts: [{path, winner, value, losers: [{version, value}]}]}
//	GET    /v1/spaces/{space}/keys             ?prefix=&after=&limit= (default 1000, at most 10000)
//	       → {keys: [{key, version}], next} — next is the last key when more may follow, else ""
//	GET    /v1/spaces/{space}/history/{key...} ?limit=N (the newest N)
//	       → [{version, clock, time, author, kind, value, distilled}], oldest first
//	GET    /v1/spaces/{space}/diff/{key...}    ?from=CID&to=CID (absent: before the first version)
//	       → [{path, kind, old, new}]
//	POST   /v1/spaces/{space}/batch            {ops: [{op: put|patch|del, key, value}]} → {version, clock}
//	POST   /v1/spaces/{space}/query            {namespace, where: [{field, op, value}], sort, desc, limit,
//	                                            aggregate: {count: true} | {sum|avg|min|max: FIELD}}
//	       → {rows: [{key, value}], count, aggregate}
//	GET    /v1/spaces/{space}/watch            ?prefix= → text/event-stream:
//	       data: {type: insert|update|delete|overflow, key, version, value, missed}
//	GET    /v1/spaces/{space}/dag/heads        → [CID]
//	GET    /v1/spaces/{space}/dag/log          ?limit= → [{cid, parents, height, clock, author, keys, distilled}]
//	GET    /v1/spaces/{space}/dag/nodes/{cid}  → {cid, space, parents, height, clock, author,
//	                                              ops: [{key, kind, prev, value}], distilled}
//	POST   /v1/spaces/{space}/invite           optional {can, for, keys, expires} → {ticket}
//	GET    /v1/spaces/{space}/caps             → [{id, issuer, audience, can, keys, not_before, expires,
//	                                              proof, status, revoked_by}], oldest first
//	POST   /v1/spaces/{space}/caps             {to, can, keys, not_before, expires} → 201 {id, issuer, …}
//	DELETE /v1/spaces/{space}/caps/{cid}       → {id, token, issuer}: the revocation
//	GET    /v1/spaces/{space}/export           → the space as a CAR v1 file (CARContentType)
//	GET    /v1/spaces                          → [{name, id, open, owner}]
//	POST   /v1/spaces                          {name, open} → 201 {name, id, open, owner}
//	POST   /v1/spaces/join                     {ticket, as} → {name, id, open, owner}
//	POST   /v1/spaces/import                   ?as=NAME, body: a CAR v1 file → {name, id, open, owner}
//	GET    /v1/peers                           → [{peer_id, addrs, latency_ms, connected, score, banned_until,
//	                                               spaces: [{space, space_id, in_sync, behind, ahead, last_sync, ...}]}]
//	POST   /v1/peers                           {addr} → {peer_id}
//	GET    /v1/id                              → {peer_id, addrs}
//	GET    /v1/status                          → {peer_id, addrs, spaces: [...], storage: {...}, hot: {...}, peers, ...}
//	POST   /v1/tokens                          {can, spaces, expires} → 201 {token, can, spaces, expires}
//	DELETE /v1/tokens/{id}                     → {id, already_revoked}: the token of that ID is refused from now on
//	GET    /metrics                            Prometheus text format
//	GET    /healthz                            200 "ok", no token
//
// join takes an invite ticket (korup2p.Node.Invite) or an open space's name, and
// has the daemon connect to the inviter's addresses in the ticket. export streams
// as Node.Export writes; an error after the first byte cuts the connection, so a
// client sees a broken transfer, never a short file. import streams the body into
// Node.Import as it arrives, up to ServerOptions.MaxImport (1 GiB by default)
// rather than MaxBody. In peers, addrs and latency_ms (0: not measured) are known
// for connected peers only.
//
// Clocks are dag.Timestamp.String (RFC 3339 with nanoseconds, "+N" for a logical
// counter). A value field is left out when the root value is absent (a delete)
// and is null when the value is JSON null.
//
// Times in bodies (expires, not_before) are RFC 3339; abilities ("can") are read,
// write or admin; a capability's status is "valid" or a caps.Reason. An invite
// body may be absent: a read capability for anyone holding the ticket.
//
// # API tokens
//
// The master token (ServerOptions.Token; the daemon's DATA/api.token) allows
// everything. Tokens minted from it (MintToken offline, or POST /v1/tokens by an
// admin token, never wider than itself) allow an ability, in some spaces, until
// an expiry: k2a1.base64url(payload).base64url(HMAC-SHA256(SHA-256("korup2p api
// token v1" || master), payload)), payload {"can", "spaces", "exp", "iat"}. The
// routes need:
//
//	read   every GET (keys, list, history, diff, watch, dag, export, caps, spaces,
//	       peers, id, status, /metrics) and POST …/query
//	write  PUT, PATCH, DELETE of keys, POST …/batch, POST /v1/spaces/import
//	admin  POST /v1/spaces, /v1/spaces/join, …/invite, …/caps, DELETE …/caps/{cid},
//	       POST /v1/peers, POST /v1/tokens, DELETE /v1/tokens/{id}
//
// A token limited to spaces reaches only {space} routes of those (by name or ID);
// GET /v1/spaces, /v1/status and /v1/peers show only them; it may create only a
// space it names; join, import, DELETE /v1/tokens/{id} (an ID does not say which
// spaces its token reaches) and /metrics (whose labels name every space) refuse
// it. A malformed, altered or foreign token is 401 like a wrong master token; a
// valid one that does not allow the request is 403 forbidden with reason
// insufficient-ability, wrong-space, expired or revoked.
//
// Each minted token has an ID, TokenID: the lowercase hex of the first 8 bytes of
// its MAC (16 characters), which names it without giving it away. Minting keeps
// no state, but the server consults a list of revoked IDs
// (ServerOptions.Revocations; the daemon's is the file DATA/api.revoked, one ID a
// line, '#' comments, read again when it changes — see RevocationFile). DELETE
// /v1/tokens/{id} adds to it (idempotent; 400 invalid/request for a malformed ID),
// and a token in it is answered as an expired one is: 403 forbidden, reason
// revoked — it is authentic, and allows nothing any more. The master token has no
// ID and cannot be revoked this way; replacing it still voids every minted token
// at once.
//
// # Errors
//
// An error is {"error": "one line", "code": CODE, "reason": REASON}: 400 invalid
// (reason key, value, version, query, request, addr or ticket), 401 unauthorized,
// 403 forbidden (an API token's refusal; reason as above) or denied (a capability
// check of the Node: korup2p.ErrDenied, reason the caps.Reason, and "token" the
// capability at fault if any), 404 not_found, no_value_at_time, unknown_space or
// unknown_capability, 409 conflict (the space exists) or open_space (a capability
// operation on an open space), 410 distilled, 413 too_large (a value over the Node's MaxValueSize, or
// a body over ServerOptions.MaxBody or MaxImport), 502 unreachable, 503 closed or
// no_network, 504 timeout, 500 internal. Bad input is refused before anything is written: the Node validates
// every key and value first, and this package checks bodies, parameters, batch ops,
// query shapes and space names before calling it. The Client's errors are
// *APIError, which wraps the sentinel the code stands for.
//
// # Watch
//
// The server subscribes before it answers, and writes ": subscribed" first: once
// Client.Watch returns, every later write is delivered, in commit order, and an
// overflow event reports events dropped for a slow reader. A stream ends when its
// request context does — the client leaves, or the http.Server's BaseContext is
// canceled, which a daemon should do on shutdown since Shutdown waits for streams —
// or when the Node closes.
//
// Usage:
//
//	srv := &http.Server{Addr: "127.0.0.1:7777", Handler: httpapi.NewServer(n, httpapi.ServerOptions{Token: tok}),
//		BaseContext: func(net.Listener) context.Context { return ctx }}
//	go srv.ListenAndServe()
//
//	c := httpapi.NewClient("127.0.0.1:7777", tok)
//	defer c.Close()
//	res, err := c.Put(ctx, "default", "users/ada", json.RawMessage(`{"name":"Ada"}`))
//	e, err := c.Get(ctx, "default", "users/ada", time.Time{}, nil)
//	if errors.Is(err, korup2p.ErrNotFound) { … }
package httpapi
