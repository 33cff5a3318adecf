package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode"

	"github.com/charmbracelet/log"
	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
)

// DefaultMaxBody is ServerOptions.MaxBody's default: 8 MiB.
const DefaultMaxBody = 8 << 20

// DefaultMaxImport is ServerOptions.MaxImport's default: 1 GiB.
const DefaultMaxImport = 1 << 30

// ServerOptions configure NewServer.
type ServerOptions struct {
	// Token is the master bearer token: it allows every route (but /healthz, which
	// needs none), and the API tokens minted from it (MintToken) allow what they
	// say. Required: with an empty Token, every route but /healthz answers 401.
	Token string
	// Logger receives request logs (debug) and internal errors; default
	// log.Default().
	Logger *log.Logger
	// MaxBody bounds a request body in bytes; default DefaultMaxBody. A larger
	// body is refused with 413 too_large before anything is written.
	MaxBody int64
	// MaxImport bounds the body of POST /v1/spaces/import (a CAR file, streamed
	// to the Node as it arrives) in bytes; default DefaultMaxImport. Reading
	// stops there with 413 too_large; the blocks read before are kept, as a
	// torn file's would be.
	MaxImport int64
	// Now is the clock that judges the expiry of API tokens; default time.Now.
	Now func() time.Time
	// Revocations is the list of revoked minted tokens: one in it is refused
	// (403 forbidden, reason revoked), and DELETE /v1/tokens/{id} adds to it.
	// Default: an empty MemRevocations, which lasts as long as the server. The
	// daemon's is a RevocationFile over DATA/api.revoked.
	Revocations Revocations
}

// server is the API's http.Handler.
type server struct {
	n         *korup2p.Node
	log       *log.Logger
	maxBody   int64
	maxImport int64
	token     [sha256.Size]byte // the master token's hash: compared in constant time, whatever the lengths
	master    string            // the master token, the key of minted tokens
	noToken   bool
	now       func() time.Time
	revoked   Revocations
	mux       *http.ServeMux
	m         *metrics
}

// NewServer returns the HTTP API of n (see the package doc for the routes). It
// starts no goroutines: each request runs in its own, and a watch stream ends when
// its request's context does (the client leaves, or the http.Server's BaseContext
// is canceled) or when n closes.
func NewServer(n *korup2p.Node, opts ServerOptions) http.Handler {
	s := &server{n: n, log: opts.Logger, maxBody: opts.MaxBody, maxImport: opts.MaxImport, token: sha256.Sum256([]byte(opts.Token)),
		master: opts.Token, noToken: opts.Token == "", now: opts.Now, revoked: opts.Revocations}
	if s.log == nil {
		s.log = log.Default()
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	if s.maxImport <= 0 {
		s.maxImport = DefaultMaxImport
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.revoked == nil {
		s.revoked = &MemRevocations{}
	}
	if s.noToken {
		s.log.Error("HTTP API: no token configured; every authenticated route will answer 401")
	}
	s.m = newMetrics(n)
	mux := http.NewServeMux()
	// Each route with the ability an API token needs for it (see auth.go); a
	// {space} route also needs the token to cover the space.
	route := func(pattern string, need caps.Ability, h http.HandlerFunc) {
		mux.Handle(pattern, s.guard(need, false, h))
	}
	// Routes that reach every space at once: refused to a token limited to spaces.
	every := func(pattern string, need caps.Ability, h http.HandlerFunc) {
		mux.Handle(pattern, s.guard(need, true, h))
	}
	const sp = "/v1/spaces/{space}"
	route("PUT "+sp+"/keys/{key...}", caps.Write, s.handlePut)
	route("PATCH "+sp+"/keys/{key...}", caps.Write, s.handlePatch)
	route("DELETE "+sp+"/keys/{key...}", caps.Write, s.handleDelete)
	route("GET "+sp+"/keys/{key...}", caps.Read, s.handleGet)
	route("GET "+sp+"/keys", caps.Read, s.handleList)
	route("GET "+sp+"/history/{key...}", caps.Read, s.handleHistory)
	route("GET "+sp+"/diff/{key...}", caps.Read, s.handleDiff)
	route("POST "+sp+"/batch", caps.Write, s.handleBatch)
	route("POST "+sp+"/query", caps.Read, s.handleQuery) // it only reads
	route("GET "+sp+"/watch", caps.Read, s.handleWatch)
	route("GET "+sp+"/dag/heads", caps.Read, s.handleHeads)
	route("GET "+sp+"/dag/log", caps.Read, s.handleDAGLog)
	route("GET "+sp+"/dag/nodes/{cid}", caps.Read, s.handleDAGNode)
	route("POST "+sp+"/invite", caps.Admin, s.handleInvite)
	route("GET "+sp+"/export", caps.Read, s.handleExport)
	route("GET "+sp+"/caps", caps.Read, s.handleCaps)
	route("POST "+sp+"/caps", caps.Admin, s.handleGrant)
	route("DELETE "+sp+"/caps/{cid}", caps.Admin, s.handleRevoke)
	route("GET /v1/spaces", caps.Read, s.handleSpaces)          // filtered to the token's spaces
	route("POST /v1/spaces", caps.Admin, s.handleCreateSpace)   // a limited token: one of its spaces
	every("POST /v1/spaces/join", caps.Admin, s.handleJoin)     // the space is known after the ticket
	every("POST /v1/spaces/import", caps.Write, s.handleImport) // the space is known after the file
	route("GET /v1/peers", caps.Read, s.handlePeers)            // filtered to the token's spaces
	route("POST /v1/peers", caps.Admin, s.handleConnect)
	route("GET /v1/id", caps.Read, s.handleID)
	route("GET /v1/status", caps.Read, s.handleStatus) // filtered to the token's spaces
	route("POST /v1/tokens", caps.Admin, s.handleMintToken)
	every("DELETE /v1/tokens/{id}", caps.Admin, s.handleRevokeToken) // an ID does not say which spaces its token reaches
	every("GET /metrics", caps.Read, s.m.handler().ServeHTTP)        // labels name every space
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, &requestError{status: http.StatusNotFound, code: CodeNotFound, msg: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)})
	})
	s.mux = mux
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	if p, err := s.authenticate(r); err != nil {
		if err.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="korup2p"`)
		}
		s.fail(sw, r, err)
	} else {
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		s.mux.ServeHTTP(sw, r)
	}
	d := time.Since(start)
	s.m.observe(r.Pattern, sw.status, d)
	if s.log.GetLevel() <= log.DebugLevel {
		s.log.Debug("http", "method", r.Method, "path", r.URL.Path, "status", sw.status, "took", d)
	}
}

// statusWriter records the status a handler wrote. It unwraps for
// http.ResponseController and flushes for the watch stream.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// writeJSON writes v with status. Values are written as they are stored: no HTML
// escaping.
func (s *server) writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		s.log.Error("HTTP API: encode a response", "err", err)
		status, buf = http.StatusInternalServerError, bytes.Buffer{}
		fmt.Fprintf(&buf, `{"error":"encode the response","code":%q}`+"\n", CodeInternal)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail answers err as the API's error body.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code, reason := classify(err)
	s.m.errors(code)
	if status >= 500 {
		s.log.Error("HTTP API", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	ew := errorWire{Error: oneLine(err.Error()), Code: code, Reason: reason}
	var denied *caps.Denied
	if errors.As(err, &denied) && denied.Token.Defined() {
		ew.Token = denied.Token.String()
	}
	s.writeJSON(w, status, ew)
}

// body reads the request body, at most s.maxBody bytes.
func (s *server) body(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &requestError{status: http.StatusRequestEntityTooLarge, code: CodeTooLarge, reason: ReasonBodyTooLarge,
			msg: fmt.Sprintf("request body exceeds the limit of %d bytes", tooBig.Limit)}
	}
	if err != nil {
		return nil, badRequest(ReasonRequest, "read the request body: %v", err)
	}
	return b, nil
}

// decodeBody reads a JSON object body into v, strictly: unknown fields and
// trailing data are errors.
func (s *server) decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := s.body(w, r)
	if err != nil {
		return err
	}
	return decodeStrict(b, v)
}

// decodeStrict decodes the JSON object b into v: unknown fields and trailing data
// are errors.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest(ReasonRequest, "request body: %v", err)
	}
	if dec.More() {
		return badRequest(ReasonRequest, "request body: data after the JSON object")
	}
	return nil
}

// space resolves the {space} path value: a space name, or a space ID (its CID
// string) that names a space held here. A name wins over an ID that looks alike.
// An unknown name passes through; the Node reports it as ErrUnknownSpace.
func (s *server) space(r *http.Request) (string, error) {
	name := r.PathValue("space")
	id, err := cid.Decode(name)
	if err != nil {
		return name, nil
	}
	spaces := s.n.Spaces()
	for _, info := range spaces {
		if info.Name == name {
			return name, nil
		}
	}
	for _, info := range spaces {
		if info.ID.Equals(id) {
			return info.Name, nil
		}
	}
	return "", fmt.Errorf("%w: no space has ID %s", korup2p.ErrUnknownSpace, id)
}

// parseCID parses a CID given as a parameter.
func parseCID(what, s string) (cid.Cid, error) {
	c, err := cid.Decode(s)
	if err != nil {
		return cid.Undef, badRequest(ReasonVersion, "%s %q: not a CID: %v", what, s, err)
	}
	return c, nil
}

func (s *server) handleSpaces(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	out := []spaceWire{}
	for _, sp := range s.n.Spaces() {
		if p.AllowsSpace(sp.Name, sp.ID.String()) {
			out = append(out, toSpace(sp))
		}
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *server) handleCreateSpace(w http.ResponseWriter, r *http.Request) {
	var req createSpaceWire
	if err := s.decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := validSpaceName(req.Name); err != nil {
		s.fail(w, r, err)
		return
	}
	if p := principalOf(r); !p.AllowsSpace(req.Name, "") {
		s.fail(w, r, wrongSpace(p))
		return
	}
	info, err := s.n.CreateSpace(req.Name, req.Open)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, toSpace(info))
}

// validSpaceName checks a name as korup2p.CreateSpace does (1..64 printable
// bytes, no spaces or slashes), so that a bad one is a 400 and not a 500.
func validSpaceName(name string) error {
	switch {
	case name == "":
		return badRequest(ReasonRequest, "invalid space name: empty")
	case len(name) > 64:
		return badRequest(ReasonRequest, "invalid space name %q: longer than 64 bytes", name[:64])
	}
	for _, r := range name {
		if r == '/' || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return badRequest(ReasonRequest, "invalid space name %q: only printable characters, no spaces or slashes", name)
		}
	}
	return nil
}
