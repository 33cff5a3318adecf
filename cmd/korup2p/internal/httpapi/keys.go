package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/korup2p/korup2p"
)

// Listing limits: GET .../keys returns DefaultListLimit keys unless asked, and
// never more than MaxListLimit.
const (
	DefaultListLimit = 1000
	MaxListLimit     = 10000
)

func (s *server) handlePut(w http.ResponseWriter, r *http.Request) {
	s.writeOne(w, r, korup2p.OpPut)
}

func (s *server) handlePatch(w http.ResponseWriter, r *http.Request) {
	s.writeOne(w, r, korup2p.OpPatch)
}

func (s *server) handleDelete(w http.ResponseWriter, r *http.Request) {
	s.writeOne(w, r, korup2p.OpDel)
}

// writeOne is PUT, PATCH and DELETE of one key.
func (s *server) writeOne(w http.ResponseWriter, r *http.Request, kind korup2p.OpKind) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := r.PathValue("key")
	var res korup2p.WriteResult
	switch kind {
	case korup2p.OpDel:
		res, err = s.n.Delete(r.Context(), space, key)
	default:
		var body []byte
		if body, err = s.body(w, r); err != nil {
			break
		}
		if len(body) == 0 {
			err = badRequest(ReasonValue, "%s %s: empty body: want a JSON value", kind, key)
			break
		}
		if kind == korup2p.OpPut {
			res, err = s.n.Put(r.Context(), space, key, json.RawMessage(body))
		} else {
			res, err = s.n.Patch(r.Context(), space, key, json.RawMessage(body))
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.m.write(string(kind))
	s.writeJSON(w, http.StatusOK, toWrite(key, res))
}

func (s *server) handleGet(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := r.PathValue("key")
	q := r.URL.Query()
	at, heads := q.Get("at"), q.Get("heads")
	var e korup2p.Entry
	switch {
	case at != "" && heads != "":
		err = badRequest(ReasonRequest, "give at or heads, not both")
	case at != "":
		var t time.Time
		if t, err = parseTime(at); err == nil {
			e, err = s.n.GetAt(r.Context(), space, key, t)
		}
	case heads != "":
		var hs []cid.Cid
		for _, h := range strings.Split(heads, ",") {
			var c cid.Cid
			if c, err = parseCID("head", strings.TrimSpace(h)); err != nil {
				break
			}
			hs = append(hs, c)
		}
		if err == nil {
			e, err = s.n.GetAsOf(r.Context(), space, key, hs)
		}
	default:
		e, err = s.n.Get(r.Context(), space, key)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.m.read("get")
	s.writeJSON(w, http.StatusOK, toEntry(e))
}

// parseTime parses an `at` parameter: RFC 3339 (with or without fractional
// seconds) or Unix milliseconds.
func parseTime(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badRequest(ReasonRequest, "at %q: want RFC 3339 (2024-05-01T12:00:00Z) or Unix milliseconds", s)
	}
	return t, nil
}

// intParam parses a non-negative integer parameter; def if absent.
func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badRequest(ReasonRequest, "%s %q: want a non-negative integer", name, v)
	}
	return n, nil
}

func (s *server) handleList(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit, err := intParam(r, "limit", DefaultListLimit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if limit == 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	q := r.URL.Query()
	keys, err := s.n.List(r.Context(), space, q.Get("prefix"), q.Get("after"), limit+1)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := listWire{Keys: make([]listedWire, 0, min(len(keys), limit))}
	if len(keys) > limit {
		keys = keys[:limit]
		out.Next = keys[limit-1].Key
	}
	for _, k := range keys {
		out.Keys = append(out.Keys, listedWire{Key: k.Key, Version: k.Version.String()})
	}
	s.m.read("list")
	s.writeJSON(w, http.StatusOK, out)
}

func (s *server) handleHistory(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	limit, err := intParam(r, "limit", 0)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	hist, err := s.n.History(r.Context(), space, r.PathValue("key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if limit > 0 && len(hist) > limit {
		hist = hist[len(hist)-limit:]
	}
	out := make([]versionWire, len(hist))
	for i, v := range hist {
		out[i] = toVersion(v)
	}
	s.m.read("history")
	s.writeJSON(w, http.StatusOK, out)
}

func (s *server) handleDiff(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var from, to cid.Cid
	q := r.URL.Query()
	if v := q.Get("from"); v != "" {
		if from, err = parseCID("from", v); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = parseCID("to", v); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	changes, err := s.n.Diff(r.Context(), space, r.PathValue("key"), from, to)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]changeWire, len(changes))
	for i, c := range changes {
		out[i] = toChange(c)
	}
	s.m.read("diff")
	s.writeJSON(w, http.StatusOK, out)
}

func (s *server) handleBatch(w http.ResponseWriter, r *http.Request) {
	space, err := s.space(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var req batchWire
	if err := s.decodeBody(w, r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if len(req.Ops) == 0 {
		s.fail(w, r, badRequest(ReasonRequest, "batch: no ops"))
		return
	}
	ops := make([]korup2p.Op, len(req.Ops))
	for i, o := range req.Ops {
		switch kind := korup2p.OpKind(o.Op); kind {
		case korup2p.OpDel:
			ops[i] = korup2p.Op{Kind: kind, Key: o.Key}
		case korup2p.OpPut, korup2p.OpPatch:
			if len(o.Value) == 0 {
				s.fail(w, r, badRequest(ReasonValue, "batch op %d (%s %s): no value", i, kind, o.Key))
				return
			}
			ops[i] = korup2p.Op{Kind: kind, Key: o.Key, Value: o.Value}
		default:
			s.fail(w, r, badRequest(ReasonRequest, "batch op %d: unknown op %q (want put, patch or del)", i, o.Op))
			return
		}
	}
	res, err := s.n.Batch(r.Context(), space, ops)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.m.write("batch")
	s.writeJSON(w, http.StatusOK, toWrite("", res))
}
