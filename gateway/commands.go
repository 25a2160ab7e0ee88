package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jusha-ean/edge/access"
)

// registerCommands connects the platform's commands (P/cmd/...) to the
// parts that carry them out. The uplink answers each on P/reply.
func (g *Gateway) registerCommands() {
	g.up.Handle("ack", g.cmdAck)
	g.up.Handle("whitelist", g.cmdWhitelist)
	g.up.Handle("open", g.cmdOpen)
}

// ackCommand is P/cmd/ack: the platform signed for an alarm.
type ackCommand struct {
	ID   string `json:"id"`
	By   string `json:"by"`
	Time string `json:"time"`
}

func (g *Gateway) cmdAck(_ context.Context, payload []byte) (string, error) {
	var c ackCommand
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return "", fmt.Errorf("malformed ack: %w", err)
	}
	if c.ID == "" {
		return "", errors.New("malformed ack: no id")
	}
	at := time.Now()
	if c.Time != "" {
		t, err := time.Parse(time.RFC3339Nano, c.Time)
		if err != nil {
			return c.ID, fmt.Errorf("malformed ack: time: %w", err)
		}
		at = t
	}
	if err := g.pipe.Load().rules.Ack(c.ID, c.By, at); err != nil {
		return c.ID, err
	}
	g.log.Info("alarm acknowledged", "id", c.ID, "by", c.By)
	return c.ID, nil
}

// cmdWhitelist applies a signed whitelist update and raises
// whitelist.applied or whitelist.rejected.
func (g *Gateway) cmdWhitelist(ctx context.Context, payload []byte) (string, error) {
	res, err := g.wl.ApplySigned(ctx, payload)
	ev := access.UpdateEvent(res, err, time.Now())
	ev.Subject = g.cfg.Gateway
	g.emit(ev)
	id := ""
	if res.Version > 0 {
		id = fmt.Sprintf("whitelist-%d", res.Version)
	}
	if err != nil {
		g.log.Warn("whitelist update rejected", "err", err)
		return id, err
	}
	g.log.Info("whitelist applied", "version", res.Version, "entries", res.Entries)
	return id, nil
}

// cmdOpen carries out a signed remote open. The reply names the command's
// id, read from the signed payload (for correlation only: the controller
// verifies the signature before it acts).
func (g *Gateway) cmdOpen(ctx context.Context, payload []byte) (string, error) {
	return openID(payload), g.pipe.Load().ctrl.HandleOpen(ctx, payload)
}

func openID(envelope []byte) string {
	var env access.Envelope
	if json.Unmarshal(envelope, &env) != nil {
		return ""
	}
	doc, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return ""
	}
	var c struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(doc, &c) != nil {
		return ""
	}
	return c.ID
}

func readToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("token file %s is empty", path)
	}
	return t, nil
}
