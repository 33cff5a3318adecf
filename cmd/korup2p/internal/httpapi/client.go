package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
)

// DefaultClientTimeout bounds one request of a Client (a watch stream excepted).
// Give a context with a deadline for less.
const DefaultClientTimeout = time.Minute

// maxEventBytes bounds one SSE line a Client reads: a value is at most
// korup2p.Options.MaxValueSize encoded, and its JSON a few times that.
const maxEventBytes = 64 << 20

// Client calls a daemon's HTTP API. Its methods mirror the root package's Node and
// return its types and errors: an *APIError that wraps the root sentinel
// (errors.Is(err, korup2p.ErrNotFound), ...), so a caller can treat a daemon and
// a local Node alike. It is safe for concurrent use; Close releases its idle
// connections.
type Client struct {
	base  string // http://host:port
	token string
	tr    *http.Transport
	hc    *http.Client // requests, with DefaultClientTimeout
	watch *http.Client // watch streams: no timeout but the context's
}

// NewClient returns a Client of the daemon at addr ("host:port", or a URL
// "http://host:port") that sends token.
func NewClient(addr, token string) *Client {
	base := strings.TrimRight(addr, "/")
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	tr := &http.Transport{
		Proxy:                 nil, // a local API: never through a proxy, with the token
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          128,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &Client{base: base, token: token, tr: tr,
		hc: &http.Client{Transport: tr, Timeout: DefaultClientTimeout}, watch: &http.Client{Transport: tr}}
}

// Close closes the Client's idle connections. Watch streams end with their contexts.
func (c *Client) Close() { c.tr.CloseIdleConnections() }

// spacePath is /v1/spaces/SPACE followed by rest.
func spacePath(space string, rest ...string) string {
	return "/v1/spaces/" + url.PathEscape(space) + strings.Join(rest, "")
}

// escapeKey escapes a key for a {key...} path: segment by segment, keeping its
// slashes readable, unless a segment is empty, "." or ".." — which the server's
// router would clean away — when every slash is escaped too.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		if s == "" || s == "." || s == ".." {
			return url.PathEscape(key)
		}
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// do sends a request and decodes a 2xx JSON answer into out (if not nil); any
// other answer is an *APIError.
func (c *Client) do(ctx context.Context, hc *http.Client, method, path string, query url.Values, body []byte, out any) error {
	resp, err := c.send(ctx, hc, method, path, query, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode the daemon's answer: %w", method, path, err)
	}
	return nil
}

// send sends a request with a JSON body (if not nil); the caller closes the body of
// the 2xx response it returns.
func (c *Client) send(ctx context.Context, hc *http.Client, method, path string, query url.Values, body []byte) (*http.Response, error) {
	if body == nil {
		return c.sendStream(ctx, hc, method, path, query, nil, "")
	}
	return c.sendStream(ctx, hc, method, path, query, bytes.NewReader(body), "application/json")
}

// sendStream sends a request with body (if not nil) of contentType; the caller
// closes the body of the 2xx response it returns.
func (c *Client) sendStream(ctx context.Context, hc *http.Client, method, path string, query url.Values, body io.Reader, contentType string) (*http.Response, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, readAPIError(resp)
	}
	return resp, nil
}

// readAPIError turns an error answer into an *APIError.
func readAPIError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var ew errorWire
	if json.Unmarshal(b, &ew) != nil || ew.Error == "" {
		ew = errorWire{Error: oneLine(string(b))}
		if ew.Error == "" {
			ew.Error = resp.Status
		}
		ew.Error = "daemon: " + ew.Error
	}
	err := sentinel(resp.StatusCode, ew.Code, ew.Reason, ew.Error)
	if d, ok := err.(*caps.Denied); ok && ew.Token != "" {
		if c, cerr := cid.Decode(ew.Token); cerr == nil {
			d.Token = c
			d.Detail = strings.TrimPrefix(d.Detail, "token "+ew.Token+": ") // as caps.Denied.Error words it
		}
	}
	return &APIError{Status: resp.StatusCode, Code: ew.Code, Reason: ew.Reason, Message: ew.Error, Err: err}
}

// Ping checks that the daemon answers /healthz (no token needed).
func (c *Client) Ping(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return readAPIError(resp)
	}
	io.Copy(io.Discard, resp.Body)
	return nil
}

func (c *Client) writeKey(ctx context.Context, method, space, key string, body []byte) (korup2p.WriteResult, error) {
	var w writeWire
	if err := c.do(ctx, c.hc, method, spacePath(space, "/keys/", escapeKey(key)), nil, body, &w); err != nil {
		return korup2p.WriteResult{}, err
	}
	var d decoder
	res := d.write(w)
	return res, d.err
}

// Put sets key in space to value, JSON text.
func (c *Client) Put(ctx context.Context, space, key string, value json.RawMessage) (korup2p.WriteResult, error) {
	return c.writeKey(ctx, http.MethodPut, space, key, nonNilBody(value))
}

// Patch applies an RFC 7386 merge patch, JSON text, to key.
func (c *Client) Patch(ctx context.Context, space, key string, patch json.RawMessage) (korup2p.WriteResult, error) {
	return c.writeKey(ctx, http.MethodPatch, space, key, nonNilBody(patch))
}

// Delete deletes key.
func (c *Client) Delete(ctx context.Context, space, key string) (korup2p.WriteResult, error) {
	return c.writeKey(ctx, http.MethodDelete, space, key, nil)
}

// nonNilBody makes an empty value an empty body (which the server refuses with
// ErrInvalidValue) rather than no body.
func nonNilBody(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// Batch applies ops as one atomic write. An op's Value is JSON text
// (json.RawMessage or []byte) or a Go value that encoding/json marshals.
func (c *Client) Batch(ctx context.Context, space string, ops []korup2p.Op) (korup2p.WriteResult, error) {
	req := batchWire{Ops: make([]opWire, len(ops))}
	for i, op := range ops {
		ow := opWire{Op: string(op.Kind), Key: op.Key}
		if op.Kind != korup2p.OpDel {
			var raw []byte
			switch v := op.Value.(type) {
			case json.RawMessage:
				raw = v
			case []byte:
				raw = v
			default:
				var err error
				if raw, err = json.Marshal(v); err != nil {
					return korup2p.WriteResult{}, &korup2p.KeyError{Op: "batch", Space: space, Key: op.Key, Err: fmt.Errorf("%w: %v", korup2p.ErrInvalidValue, err)}
				}
			}
			if !json.Valid(raw) {
				return korup2p.WriteResult{}, &korup2p.KeyError{Op: "batch", Space: space, Key: op.Key, Err: fmt.Errorf("%w: not valid JSON", korup2p.ErrInvalidValue)}
			}
			ow.Value = raw
		}
		req.Ops[i] = ow
	}
	body, err := json.Marshal(req)
	if err != nil {
		return korup2p.WriteResult{}, err
	}
	var w writeWire
	if err := c.do(ctx, c.hc, http.MethodPost, spacePath(space, "/batch"), nil, body, &w); err != nil {
		return korup2p.WriteResult{}, err
	}
	var d decoder
	res := d.write(w)
	return res, d.err
}

// Get reads key: now, as of the wall-clock time at (if not zero), or as of the
// space heads (if any).
func (c *Client) Get(ctx context.Context, space, key string, at time.Time, heads []cid.Cid) (korup2p.Entry, error) {
	q := url.Values{}
	if !at.IsZero() {
		q.Set("at", at.UTC().Format(time.RFC3339Nano))
	}
	if len(heads) > 0 {
		q.Set("heads", strings.Join(cidStrings(heads), ","))
	}
	var w entryWire
	if err := c.do(ctx, c.hc, http.MethodGet, spacePath(space, "/keys/", escapeKey(key)), q, nil, &w); err != nil {
		return korup2p.Entry{}, err
	}
	var d decoder
	e := d.entry(w)
	return e, d.err
}

// History returns key's versions, oldest first: the newest limit of them (all if
// limit <= 0).
func (c *Client) History(ctx context.Context, space, key string, limit int) ([]korup2p.Version, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var ws []versionWire
	if err := c.do(ctx, c.hc, http.MethodGet, spacePath(space, "/history/", escapeKey(key)), q, nil, &ws); err != nil {
		return nil, err
	}
	var d decoder
	out := make([]korup2p.Version, len(ws))
	for i, w := range ws {
		out[i] = d.version(w)
	}
	return out, d.err
}

// Diff compares key's value at version from with its value at version to;
// cid.Undef stands for "before the first version".
func (c *Client) Diff(ctx context.Context, space, key string, from, to cid.Cid) ([]korup2p.Change, error) {
	q := url.Values{}
	if from.Defined() {
		q.Set("from", from.String())
	}
	if to.Defined() {
		q.Set("to", to.String())
	}
	var ws []changeWire
	if err := c.do(ctx, c.hc, http.MethodGet, spacePath(space, "/diff/", escapeKey(key)), q, nil, &ws); err != nil {
		return nil, err
	}
	out := make([]korup2p.Change, len(ws))
	for i, w := range ws {
		out[i] = korup2p.Change{Path: pathOf(w.Path), Kind: w.Kind, Old: w.Old, New: w.New}
	}
	return out, nil
}

// List returns, in key order, up to limit keys (all if limit <= 0) that start with
// prefix and sort after the key after, following the server's cursors.
func (c *Client) List(ctx context.Context, space, prefix, after string, limit int) ([]korup2p.Listed, error) {
	var out []korup2p.Listed
	var d decoder
	for {
		page := MaxListLimit
		if limit > 0 {
			page = min(limit-len(out), MaxListLimit)
		}
		q := url.Values{"limit": {strconv.Itoa(page)}}
		if prefix != "" {
			q.Set("prefix", prefix)
		}
		if after != "" {
			q.Set("after", after)
		}
		var w listWire
		if err := c.do(ctx, c.hc, http.MethodGet, spacePath(space, "/keys"), q, nil, &w); err != nil {
			return nil, err
		}
		for _, k := range w.Keys {
			out = append(out, korup2p.Listed{Key: k.Key, Version: d.cid(k.Version)})
		}
		if d.err != nil {
			return nil, d.err
		}
		if w.Next == "" || limit > 0 && len(out) >= limit {
			return out, nil
		}
		after = w.Next
	}
}

// Query runs q over the values of the keys in namespace of space.
func (c *Client) Query(ctx context.Context, space, namespace string, q korup2p.Query) (korup2p.QueryResult, error) {
	qw := queryWire{Namespace: namespace, Sort: q.Sort, Desc: q.Desc, Limit: q.Limit}
	for _, f := range q.Filters {
		fw := filterWire{Field: f.Field, Op: string(f.Op)}
		if f.Value != nil {
			v, err := json.Marshal(f.Value)
			if err != nil {
				return korup2p.QueryResult{}, fmt.Errorf("query %s/%s: filter %s: %w: %v", space, namespace, f.Field, korup2p.ErrInvalidQuery, err)
			}
			fw.Value = v
		}
		qw.Where = append(qw.Where, fw)
	}
	if a := q.Aggregate; a != nil {
		field := a.Field
		qw.Aggregate = &aggregateWire{}
		switch a.Kind {
		case korup2p.AggCount:
			qw.Aggregate.Count = true
		case korup2p.AggSum:
			qw.Aggregate.Sum = &field
		case korup2p.AggAvg:
			qw.Aggregate.Avg = &field
		case korup2p.AggMin:
			qw.Aggregate.Min = &field
		case korup2p.AggMax:
			qw.Aggregate.Max = &field
		default:
			return korup2p.QueryResult{}, fmt.Errorf("query %s/%s: %w: unknown aggregate %q", space, namespace, korup2p.ErrInvalidQuery, a.Kind)
		}
	}
	body, err := json.Marshal(qw)
	if err != nil {
		return korup2p.QueryResult{}, err
	}
	var w queryResultWire
	if err := c.do(ctx, c.hc, http.MethodPost, spacePath(space, "/query"), nil, body, &w); err != nil {
		return korup2p.QueryResult{}, err
	}
	out := korup2p.QueryResult{Rows: make([]korup2p.QueryRow, len(w.Rows)), Count: w.Count, Aggregate: w.Aggregate}
	for i, r := range w.Rows {
		out.Rows[i] = korup2p.QueryRow{Key: r.Key, Value: r.Value}
	}
	return out, nil
}

// Watch subscribes to the changes of keys with prefix in space. Once it returns,
// the daemon's subscription is in place: every later write is delivered, in
// commit order. The channel is closed when ctx ends, the daemon closes the stream
// or the connection breaks; the goroutine that feeds it ends then too.
func (c *Client) Watch(ctx context.Context, space, prefix string) (<-chan korup2p.Event, error) {
	q := url.Values{}
	if prefix != "" {
		q.Set("prefix", prefix)
	}
	resp, err := c.send(ctx, c.watch, http.MethodGet, spacePath(space, "/watch"), q, nil)
	if err != nil {
		return nil, err
	}
	ch := make(chan korup2p.Event, 64)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), maxEventBytes)
		var data []byte
		for sc.Scan() {
			line := sc.Bytes()
			switch {
			case len(line) == 0: // the end of an event
				if len(data) == 0 {
					continue
				}
				var w eventWire
				if json.Unmarshal(data, &w) != nil {
					return // not this API: stop rather than guess
				}
				data = data[:0]
				var d decoder
				ev := d.event(space, w)
				if d.err != nil {
					return
				}
				select {
				case ch <- ev:
				case <-ctx.Done():
					return
				}
			case line[0] == ':': // a comment: subscribed, keepalive
			default:
				field, value, _ := bytes.Cut(line, []byte(":"))
				if string(field) == "data" {
					if len(data) > 0 {
						data = append(data, '\n')
					}
					data = append(data, bytes.TrimPrefix(value, []byte(" "))...)
				}
			}
		}
	}()
	return ch, nil
}

// Spaces lists the spaces the daemon holds, by name.
func (c *Client) Spaces(ctx context.Context) ([]korup2p.SpaceInfo, error) {
	var ws []spaceWire
	if err := c.do(ctx, c.hc, http.MethodGet, "/v1/spaces", nil, nil, &ws); err != nil {
		return nil, err
	}
	var d decoder
	out := make([]korup2p.SpaceInfo, len(ws))
	for i, w := range ws {
		out[i] = d.space(w)
	}
	return out, d.err
}

// CreateSpace creates a space: open, or restricted and owned by the daemon's peer.
func (c *Client) CreateSpace(ctx context.Context, name string, open bool) (korup2p.SpaceInfo, error) {
	body, _ := json.Marshal(createSpaceWire{Name: name, Open: open})
	var w spaceWire
	if err := c.do(ctx, c.hc, http.MethodPost, "/v1/spaces", nil, body, &w); err != nil {
		return korup2p.SpaceInfo{}, err
	}
	var d decoder
	info := d.space(w)
	return info, d.err
}

// Invite returns an invite ticket for the space, granting what o says (see
// korup2p.Node.Invite); the zero InviteOptions sends no body.
func (c *Client) Invite(ctx context.Context, space string, o korup2p.InviteOptions) (string, error) {
	var body []byte
	if o.Ability != 0 || o.For != "" || o.Keys != nil || !o.Expiry.IsZero() {
		req := inviteRequestWire{For: peerString(o.For), Keys: o.Keys, Expires: wireTime(o.Expiry)}
		if o.Ability != 0 {
			req.Can = o.Ability.String()
		}
		body, _ = json.Marshal(req)
	}
	var w inviteWire
	if err := c.do(ctx, c.hc, http.MethodPost, spacePath(space, "/invite"), nil, body, &w); err != nil {
		return "", err
	}
	return w.Ticket, nil
}

// Grant has the daemon issue a capability token in the space (see
// korup2p.Node.Grant). A refusal is an error matching korup2p.ErrDenied that
// wraps a *caps.Denied with the reason; an open space, korup2p.ErrOpenSpace.
func (c *Client) Grant(ctx context.Context, space string, g korup2p.Grant) (korup2p.Capability, error) {
	req := grantWire{To: peerString(g.To), Keys: g.Keys, NotBefore: wireTime(g.NotBefore), Expires: wireTime(g.Expiry)}
	if g.Ability != 0 {
		req.Can = g.Ability.String()
	}
	body, err := json.Marshal(req)
	if err != nil {
		return korup2p.Capability{}, err
	}
	var w capWire
	if err := c.do(ctx, c.hc, http.MethodPost, spacePath(space, "/caps"), nil, body, &w); err != nil {
		return korup2p.Capability{}, err
	}
	var d decoder
	out := d.capability(w)
	return out, d.err
}

// Revoke has the daemon revoke the capability token id in the space (see
// korup2p.Node.Revoke); an ID the space does not hold is korup2p.ErrUnknownCapability.
func (c *Client) Revoke(ctx context.Context, space string, id cid.Cid) (korup2p.RevocationInfo, error) {
	var w revocationWire
	if err := c.do(ctx, c.hc, http.MethodDelete, spacePath(space, "/caps/", url.PathEscape(id.String())), nil, nil, &w); err != nil {
		return korup2p.RevocationInfo{}, err
	}
	var d decoder
	out := d.revocation(w)
	return out, d.err
}

// Capabilities lists the capability tokens held in the space, oldest first (see
// korup2p.Node.Capabilities).
func (c *Client) Capabilities(ctx context.Context, space string) ([]korup2p.Capability, error) {
	var ws []capWire
	if err := c.do(ctx, c.hc, http.MethodGet, spacePath(space, "/caps"), nil, nil, &ws); err != nil {
		return nil, err
	}
	var d decoder
	out := make([]korup2p.Capability, len(ws))
	for i, w := range ws {
		out[i] = d.capability(w)
	}
	return out, d.err
}

// MintToken has the daemon mint an API token (POST /v1/tokens): never wider than
// the Client's own (its spaces and expiry by default). o.IssuedAt is ignored: the
// daemon's clock stamps it. Read the result with UnverifiedTokenClaims.
func (c *Client) MintToken(ctx context.Context, o TokenOptions) (string, error) {
	req := tokenRequestWire{Spaces: o.Spaces, Expires: wireTime(o.Expiry)}
	if o.Ability != 0 {
		req.Can = o.Ability.String()
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", err
	}
	var w tokenWire
	if err := c.do(ctx, c.hc, http.MethodPost, "/v1/tokens", nil, body, &w); err != nil {
		return "", err
	}
	return w.Token, nil
}

// RevokeToken has the daemon revoke the minted API token of ID id (see TokenID;
// DELETE /v1/tokens/{id}): it refuses that token from then on. already reports
// that it was revoked before. A malformed ID is an error wrapping
// ErrInvalidRequest; the Client's token must be an admin one not limited to
// spaces.
func (c *Client) RevokeToken(ctx context.Context, id string) (already bool, err error) {
	var w tokenRevokedWire
	if err := c.do(ctx, c.hc, http.MethodDelete, "/v1/tokens/"+url.PathEscape(id), nil, nil, &w); err != nil {
		return false, err
	}
	return w.Already, nil
}

// Join has the daemon join the space a ticket names (or the open space of that
// name), under the ticket's name or as if not empty, and connect to the inviter
// (see korup2p.Node.Join). An invalid ticket is an error wrapping
// korup2p.ErrInvalidTicket; a name taken by another space, korup2p.ErrSpaceExists.
func (c *Client) Join(ctx context.Context, ticketOrName, as string) (korup2p.SpaceInfo, error) {
	body, _ := json.Marshal(joinWire{Ticket: ticketOrName, As: as})
	var w spaceWire
	if err := c.do(ctx, c.hc, http.MethodPost, "/v1/spaces/join", nil, body, &w); err != nil {
		return korup2p.SpaceInfo{}, err
	}
	var d decoder
	info := d.space(w)
	return info, d.err
}

// Export copies the space, as the CAR v1 file korup2p.Node.Export writes, to w.
// The transfer has no timeout but ctx's; a transfer cut short is an error.
func (c *Client) Export(ctx context.Context, space string, w io.Writer) error {
	resp, err := c.sendStream(ctx, c.watch, http.MethodGet, spacePath(space, "/export"), nil, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/vnd.ipld.car") {
		return fmt.Errorf("export %s: the daemon answered %q, not a CAR file", space, ct)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("export %s: %w", space, err)
	}
	return nil
}

// Import sends r, a CAR file, to the daemon, which adds the space under the name
// its genesis gives or as if not empty (see korup2p.Node.Import). A name taken by
// another space is an error wrapping korup2p.ErrSpaceExists. The transfer has no
// timeout but ctx's.
func (c *Client) Import(ctx context.Context, r io.Reader, as string) (korup2p.SpaceInfo, error) {
	q := url.Values{}
	if as != "" {
		q.Set("as", as)
	}
	resp, err := c.sendStream(ctx, c.watch, http.MethodPost, "/v1/spaces/import", q, io.NopCloser(r), CARContentType)
	if err != nil {
		return korup2p.SpaceInfo{}, err
	}
	defer resp.Body.Close()
	var w spaceWire
	if err := json.NewDecoder(resp.Body).Decode(&w); err != nil {
		return korup2p.SpaceInfo{}, fmt.Errorf("import: decode the daemon's answer: %w", err)
	}
	var d decoder
	info := d.space(w)
	return info, d.err
}

// Heads returns the space's heads, sorted.
func (c *Client) Heads(ctx context.Context, space string) ([]cid.Cid, error) {
	var ws []string
	if err := c.do(ctx, c.hc, http.MethodGet, spacePath(space, "/dag/heads"), nil, nil, &ws); err != nil {
		return nil, err
	}
	var d decoder
	out := d.cids(ws)
	return out, d.err
}

// DAGLog lists up to limit nodes of the space (all if limit <= 0), newest first,
// as korup2p.Node.DAGLog does.
func (c *Client) DAGLog(ctx context.Context, space string, limit int) ([]korup2p.DAGEntry, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var ws []dagEntryWire
	if err := c.do(ctx, c.hc, http.MethodGet, spacePath(space, "/dag/log"), q, nil, &ws); err != nil {
		return nil, err
	}
	var d decoder
	out := make([]korup2p.DAGEntry, len(ws))
	for i, w := range ws {
		out[i] = korup2p.DAGEntry{CID: d.cid(w.CID), Parents: d.cids(w.Parents), Height: w.Height, Clock: d.clock(w.Clock),
			Author: d.peer(w.Author), Keys: w.Keys, Distilled: w.Distilled}
	}
	return out, d.err
}

// DAGNode returns node c of the space as the API renders it: cid, space, parents,
// height, clock, author, ops (key, kind, prev, value as JSON) and distilled.
func (c *Client) DAGNode(ctx context.Context, space string, id cid.Cid) (json.RawMessage, error) {
	var raw json.RawMessage
	err := c.do(ctx, c.hc, http.MethodGet, spacePath(space, "/dag/nodes/", url.PathEscape(id.String())), nil, nil, &raw)
	return raw, err
}

// ID returns the daemon's peer ID and its full addresses.
func (c *Client) ID(ctx context.Context) (peerID string, addrs []string, err error) {
	var w idWire
	if err := c.do(ctx, c.hc, http.MethodGet, "/v1/id", nil, nil, &w); err != nil {
		return "", nil, err
	}
	return w.PeerID, w.Addrs, nil
}

// Peers returns the daemon's peers as JSON: an array of {peer_id, addrs,
// latency_ms, connected, score, banned_until, spaces: [{space, space_id, in_sync,
// behind, ahead, last_sync, last_error, sessions, bytes_sent, bytes_received,
// nodes_sent, nodes_received}]}.
func (c *Client) Peers(ctx context.Context) (json.RawMessage, error) {
	var raw json.RawMessage
	err := c.do(ctx, c.hc, http.MethodGet, "/v1/peers", nil, nil, &raw)
	return raw, err
}

// Connect has the daemon connect to the peer at addr (a full multiaddr with
// /p2p/<id>) and keep it connected; it returns the peer's ID.
func (c *Client) Connect(ctx context.Context, addr string) (string, error) {
	body, _ := json.Marshal(connectWire{Addr: addr})
	var w idWire
	if err := c.do(ctx, c.hc, http.MethodPost, "/v1/peers", nil, body, &w); err != nil {
		return "", err
	}
	return w.PeerID, nil
}

// Status returns the daemon's status as JSON: {peer_id, addrs, spaces: [{name,
// id, open, owner, nodes, heads, distilled}], storage: {...}, hot: {...}, peers,
// bytes_out, bytes_in}.
func (c *Client) Status(ctx context.Context) (json.RawMessage, error) {
	var raw json.RawMessage
	err := c.do(ctx, c.hc, http.MethodGet, "/v1/status", nil, nil, &raw)
	return raw, err
}
