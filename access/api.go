package access

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/jusha-ean/edge/events"
)

// MaxAPIBody bounds a local API request body.
const MaxAPIBody = 64 << 10

// DurableEmit stores an event durably and returns it as stored, with its id.
type DurableEmit func(ctx context.Context, ev events.Event) (events.Event, error)

// accessRequest is the body of POST /api/v1/access.
type accessRequest struct {
	Device string `json:"device"`
	Type   string `json:"type"`
	Value  string `json:"value"`
}

// accessResponse is its answer.
type accessResponse struct {
	Granted bool   `json:"granted"`
	Reason  string `json:"reason"`
	EventID string `json:"event_id"`
}

type apiHandler struct {
	c     *Controller
	token []byte
	emit  DurableEmit
	log   *slog.Logger
}

// NewAPIHandler serves POST /api/v1/access for readers on IP (CONTRACT
// section 4): the same decision, actuation and event as a Modbus reader. It
// answers only once the decision's event is durable (emit returned it), so a
// reader told "granted" is never a decision the platform will not see. An
// empty token refuses every call.
func NewAPIHandler(c *Controller, token string, emit DurableEmit, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &apiHandler{c: c, token: []byte(token), emit: emit, log: log}
}

// ServeHTTP answers one access request.
func (h *apiHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="jusha-edge"`)
		h.fail(w, http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}
	var req accessRequest
	if err := decodeBody(w, r, &req); err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, errTooLarge) {
			code = http.StatusRequestEntityTooLarge
		}
		h.fail(w, code, "malformed request: "+err.Error())
		return
	}
	if req.Device == "" || req.Value == "" || !validType(req.Type) {
		h.fail(w, http.StatusBadRequest, "device, value and type (card, qr or pin) are required")
		return
	}
	ds := h.c.devices[req.Device]
	if ds == nil {
		h.fail(w, http.StatusNotFound, "unknown device")
		return
	}
	now := h.c.now()
	d := h.c.store.Decide(ds.dev, req.Type, req.Value, now)
	ev := decisionEvent(ds, d, req.Type, "api", now)
	stored, err := h.emit(r.Context(), ev)
	if err != nil {
		h.c.stats.emitFailed.Add(1)
		h.log.Error("access decision not stored: refused", "device", req.Device, "err", err)
		h.fail(w, http.StatusServiceUnavailable, "the decision could not be stored; try again")
		return
	}
	h.c.count(d)
	if d.Granted {
		h.c.enqueue(ds, job{grant: true, floors: d.Floors})
	}
	h.log.Info("access via api", "device", req.Device, "granted", d.Granted, "reason", d.Reason,
		"entry", d.EntryID, "event_id", stored.ID)
	writeJSON(w, http.StatusOK, accessResponse{Granted: d.Granted, Reason: d.Reason, EventID: stored.ID})
}

// authorized compares the bearer token in constant time.
func (h *apiHandler) authorized(r *http.Request) bool {
	if len(h.token) == 0 {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	// Compare digests, so that the time taken tells nothing of the
	// token's length either.
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256(h.token)
	return ok && subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (h *apiHandler) fail(w http.ResponseWriter, code int, msg string) {
	h.c.stats.apiRejected.Add(1)
	h.log.Warn("access api request refused", "status", code, "error", msg)
	writeJSON(w, code, map[string]string{"error": msg})
}

var errTooLarge = errors.New("body larger than 64 KiB")

// decodeBody decodes one strict JSON object of at most MaxAPIBody bytes.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errTooLarge
		}
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // the client may have gone; nothing to do
}
