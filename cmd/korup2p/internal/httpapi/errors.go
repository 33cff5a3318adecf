package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/korup2p/korup2p"
	"github.com/korup2p/korup2p/caps"
	"github.com/korup2p/korup2p/dag"
	nethost "github.com/korup2p/korup2p/net/host"
)

// ErrUnauthorized means the daemon refused the request's token (HTTP 401).
var ErrUnauthorized = errors.New("unauthorized: missing or wrong API token")

// ErrInvalidRequest means the daemon rejected a request as malformed (HTTP 400)
// for a reason other than a key, value, version or query: a bad query parameter,
// a body that is not the JSON the route wants, an unknown op.
var ErrInvalidRequest = errors.New("invalid request")

// ErrForbidden means the daemon refused the request's API token (HTTP 403
// forbidden): valid, but it does not allow the route (APIError.Reason
// insufficient-ability), is limited to other spaces (wrong-space), has expired
// (expired) or is revoked (revoked). A capability check of the Node that refuses is not this but
// korup2p.ErrDenied.
var ErrForbidden = errors.New("forbidden by the API token")

// ErrUnreachable means the daemon could not connect to the peer given to Connect.
var ErrUnreachable = errors.New("peer unreachable")

// The error codes of the API ("code" in an error body).
const (
	CodeNotFound       = "not_found"          // 404: no value (korup2p.ErrNotFound), or no such DAG node or route
	CodeNoValueAtTime  = "no_value_at_time"   // 404: korup2p.ErrNoValueAtTime
	CodeUnknownSpace   = "unknown_space"      // 404: korup2p.ErrUnknownSpace
	CodeInvalid        = "invalid"            // 400: see Reason
	CodeUnauthorized   = "unauthorized"       // 401
	CodeForbidden      = "forbidden"          // 403: ErrForbidden; reason insufficient-ability, wrong-space, expired or revoked
	CodeDenied         = "denied"             // 403: korup2p.ErrDenied; reason the caps.Reason
	CodeUnknownCap     = "unknown_capability" // 404: korup2p.ErrUnknownCapability
	CodeConflict       = "conflict"           // 409: korup2p.ErrSpaceExists
	CodeOpenSpace      = "open_space"         // 409: korup2p.ErrOpenSpace
	CodeDistilled      = "distilled"          // 410: korup2p.ErrDistilled
	CodeTooLarge       = "too_large"          // 413: a value over MaxValueSize, or a body over MaxBody
	CodeInternal       = "internal"           // 500
	CodeUnreachable    = "unreachable"        // 502: Connect could not reach the peer
	CodeClosed         = "closed"             // 503: korup2p.ErrClosed
	CodeNoNetwork      = "no_network"         // 503: korup2p.ErrNoNetwork
	CodeTimeout        = "timeout"            // 504: the request's deadline passed
	ReasonKey          = "key"                // 400 reason: korup2p.ErrInvalidKey
	ReasonGrant        = "grant"              // 400 reason: korup2p.ErrInvalidGrant
	ReasonValue        = "value"              // 400 reason: korup2p.ErrInvalidValue
	ReasonVersion      = "version"            // 400 reason: korup2p.ErrInvalidVersion
	ReasonQuery        = "query"              // 400 reason: korup2p.ErrInvalidQuery
	ReasonRequest      = "request"            // 400 reason: ErrInvalidRequest
	ReasonPeerAddress  = "addr"               // 400 reason: a malformed peer address (ErrInvalidRequest)
	ReasonTicket       = "ticket"             // 400 reason: korup2p.ErrInvalidTicket
	ReasonCAR          = "car"                // 400 reason: korup2p.ErrInvalidCAR
	ReasonBodyTooLarge = "body"               // 413 reason: the body exceeded MaxBody
)

// APIError is an error the daemon answered with: the HTTP status, the error code
// and reason, and the server's one-line message. It wraps the root sentinel the
// code stands for (korup2p.ErrNotFound for not_found, ...), so errors.Is works on
// it as on the errors of a local Node.
type APIError struct {
	Status  int
	Code    string
	Reason  string // for 400: key, value, version, query, request, addr or ticket; for 403: see CodeForbidden, CodeDenied
	Message string
	Err     error // the sentinel (a *caps.Denied for denied); nil for internal errors
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("daemon: HTTP %d %s", e.Status, e.Code)
	}
	return e.Message
}

func (e *APIError) Unwrap() error { return e.Err }

// sentinel returns the error a code and reason stand for.
func sentinel(status int, code, reason, msg string) error {
	switch code {
	case CodeNotFound:
		return korup2p.ErrNotFound
	case CodeNoValueAtTime:
		return korup2p.ErrNoValueAtTime
	case CodeUnknownSpace:
		return korup2p.ErrUnknownSpace
	case CodeUnauthorized:
		return ErrUnauthorized
	case CodeForbidden:
		return ErrForbidden
	case CodeDenied:
		return deniedOf(reason, msg)
	case CodeUnknownCap:
		return korup2p.ErrUnknownCapability
	case CodeConflict:
		return korup2p.ErrSpaceExists
	case CodeOpenSpace:
		return korup2p.ErrOpenSpace
	case CodeDistilled:
		return korup2p.ErrDistilled
	case CodeTooLarge:
		return korup2p.ErrValueTooLarge
	case CodeClosed:
		return korup2p.ErrClosed
	case CodeNoNetwork:
		return korup2p.ErrNoNetwork
	case CodeUnreachable:
		return ErrUnreachable
	case CodeTimeout:
		return context.DeadlineExceeded
	case CodeInvalid:
		switch reason {
		case ReasonKey:
			return korup2p.ErrInvalidKey
		case ReasonValue:
			return korup2p.ErrInvalidValue
		case ReasonVersion:
			return korup2p.ErrInvalidVersion
		case ReasonQuery:
			return korup2p.ErrInvalidQuery
		case ReasonTicket:
			return korup2p.ErrInvalidTicket
		case ReasonCAR:
			return korup2p.ErrInvalidCAR
		case ReasonRequest, ReasonPeerAddress:
			return ErrInvalidRequest
		}
		// An older or foreign server: guess from the message.
		switch {
		case strings.Contains(msg, korup2p.ErrInvalidKey.Error()):
			return korup2p.ErrInvalidKey
		case strings.Contains(msg, korup2p.ErrInvalidVersion.Error()):
			return korup2p.ErrInvalidVersion
		case strings.Contains(msg, korup2p.ErrInvalidValue.Error()):
			return korup2p.ErrInvalidValue
		}
		return ErrInvalidRequest
	}
	switch status { // a body without a code: a proxy, or the mux's own answers
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ErrForbidden
	case http.StatusNotFound:
		return korup2p.ErrNotFound
	case http.StatusRequestEntityTooLarge:
		return korup2p.ErrValueTooLarge
	case http.StatusBadRequest:
		return ErrInvalidRequest
	}
	return nil
}

// deniedOf rebuilds the *caps.Denied of a denied answer: its reason, and as
// detail what the message says after it (readAPIError adds the token at fault).
func deniedOf(reason, msg string) *caps.Denied {
	d := &caps.Denied{Reason: caps.Reason(reason), Detail: msg}
	if _, after, ok := strings.Cut(msg, reason+": "); ok && reason != "" {
		d.Detail = after
	}
	return d
}

// requestError is a request the server rejects before it reaches the Node.
type requestError struct {
	status int
	code   string
	reason string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

// badRequest is a 400 with reason (ReasonRequest, ReasonValue, ...).
func badRequest(reason, format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, code: CodeInvalid, reason: reason, msg: fmt.Sprintf(format, args...)}
}

// classify maps an error to its HTTP status, code and reason. Order matters: a
// more specific sentinel is tested before the one it implies.
func classify(err error) (status int, code, reason string) {
	var re *requestError
	var addrErr *nethost.AddrError
	var denied *caps.Denied
	switch {
	case errors.As(err, &re):
		return re.status, re.code, re.reason
	case errors.As(err, &denied):
		return http.StatusForbidden, CodeDenied, string(denied.Reason)
	case errors.Is(err, korup2p.ErrDenied):
		return http.StatusForbidden, CodeDenied, ""
	case errors.Is(err, korup2p.ErrOpenSpace):
		return http.StatusConflict, CodeOpenSpace, ""
	case errors.Is(err, korup2p.ErrUnknownCapability):
		return http.StatusNotFound, CodeUnknownCap, ""
	case errors.Is(err, korup2p.ErrDistilled):
		return http.StatusGone, CodeDistilled, ""
	case errors.Is(err, korup2p.ErrNoValueAtTime):
		return http.StatusNotFound, CodeNoValueAtTime, ""
	case errors.Is(err, korup2p.ErrNotFound), errors.Is(err, dag.ErrNotFound):
		return http.StatusNotFound, CodeNotFound, ""
	case errors.Is(err, korup2p.ErrUnknownSpace):
		return http.StatusNotFound, CodeUnknownSpace, ""
	case errors.Is(err, korup2p.ErrValueTooLarge):
		return http.StatusRequestEntityTooLarge, CodeTooLarge, ""
	case errors.Is(err, korup2p.ErrInvalidKey):
		return http.StatusBadRequest, CodeInvalid, ReasonKey
	case errors.Is(err, korup2p.ErrInvalidValue):
		return http.StatusBadRequest, CodeInvalid, ReasonValue
	case errors.Is(err, korup2p.ErrInvalidVersion):
		return http.StatusBadRequest, CodeInvalid, ReasonVersion
	case errors.Is(err, korup2p.ErrInvalidQuery):
		return http.StatusBadRequest, CodeInvalid, ReasonQuery
	case errors.As(err, &addrErr):
		return http.StatusBadRequest, CodeInvalid, ReasonPeerAddress
	case errors.Is(err, korup2p.ErrInvalidTicket):
		return http.StatusBadRequest, CodeInvalid, ReasonTicket
	case errors.Is(err, korup2p.ErrInvalidGrant):
		return http.StatusBadRequest, CodeInvalid, ReasonGrant
	case errors.Is(err, korup2p.ErrInvalidCAR):
		return http.StatusBadRequest, CodeInvalid, ReasonCAR
	case errors.Is(err, korup2p.ErrSpaceExists):
		return http.StatusConflict, CodeConflict, ""
	case errors.Is(err, korup2p.ErrClosed):
		return http.StatusServiceUnavailable, CodeClosed, ""
	case errors.Is(err, korup2p.ErrNoNetwork):
		return http.StatusServiceUnavailable, CodeNoNetwork, ""
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, CodeTimeout, ""
	}
	return http.StatusInternalServerError, CodeInternal, ""
}

// oneLine makes an error message fit the one line the API promises.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "\r\n") {
		s = strings.Join(strings.Fields(strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ").Replace(s)), " ")
	}
	return s
}
