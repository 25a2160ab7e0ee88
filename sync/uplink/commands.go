package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

type command struct {
	name    string
	payload []byte // nil when oversized
	size    int
}

// Reply is the answer published on P/reply for every command.
type Reply struct {
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Command errors answered on P/reply.
var (
	ErrTooLarge       = fmt.Errorf("payload larger than %d bytes", MaxCommandBytes)
	ErrMalformed      = errors.New("malformed JSON")
	ErrUnknownCommand = errors.New("unknown command")
)

// onCommand is paho's callback for P/cmd/#. It must not block: it only
// queues the command for runCommands; a full queue drops it (counted).
func (u *Uplink) onCommand(_ mqtt.Client, m mqtt.Message) {
	name, ok := strings.CutPrefix(m.Topic(), u.prefix+commandTopicSuffix)
	if !ok {
		u.log.Warn("message on an unexpected topic ignored", "topic", m.Topic())
		return
	}
	u.st.commands.Add(1)
	cmd := command{name: name, payload: m.Payload(), size: len(m.Payload())}
	if cmd.size > MaxCommandBytes {
		cmd.payload = nil // answered without being kept
	}
	select {
	case u.cmds <- cmd:
	default:
		u.st.dropped.Add(1)
		u.st.commandErrors.Add(1)
		u.log.Warn("command dropped: queue full", "command", name, "bytes", len(m.Payload()), "queue", cap(u.cmds))
		select {
		case u.busy <- busyReply{name: name, reply: Reply{ID: topLevelID(cmd.payload), Error: "gateway busy: command queue full, send again later"}}:
		default: // the reply queue is full too: the log line above is all
		}
	}
}

// runCommands runs queued commands one at a time, in arrival order, and
// publishes each reply.
func (u *Uplink) runCommands(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case cmd := <-u.cmds:
			r := u.dispatch(ctx, cmd)
			if !r.OK {
				u.st.commandErrors.Add(1)
				u.log.Warn("command failed", "command", cmd.name, "id", r.ID, "err", r.Error)
			}
			u.reply(ctx, cmd.name, r)
		}
	}
}

// runBusyReplies answers the commands a full queue dropped, apart from
// runCommands, which is busy with a handler when that happens.
func (u *Uplink) runBusyReplies(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case b := <-u.busy:
			u.reply(ctx, b.name, b.reply)
		}
	}
}

// dispatch checks a command and runs its handler. A panicking handler is
// answered with an error, not a crash.
func (u *Uplink) dispatch(ctx context.Context, cmd command) (r Reply) {
	if cmd.size > MaxCommandBytes {
		return Reply{Error: fmt.Sprintf("%v: %d bytes", ErrTooLarge, cmd.size)}
	}
	if !json.Valid(cmd.payload) {
		return Reply{Error: ErrMalformed.Error()}
	}
	r.ID = topLevelID(cmd.payload)
	u.mu.Lock()
	h := u.handlers[cmd.name]
	u.mu.Unlock()
	if h == nil {
		r.Error = fmt.Sprintf("%v %q", ErrUnknownCommand, cmd.name)
		return r
	}
	hctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			r.OK, r.Error = false, fmt.Sprintf("command %s failed: internal error", cmd.name)
			u.log.Error("command handler panicked", "command", cmd.name, "panic", fmt.Sprint(p))
		}
	}()
	id, err := h(hctx, cmd.payload)
	if id != "" {
		r.ID = id
	}
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.OK = true
	return r
}

// topLevelID returns the "id" member of a JSON object, or "".
func topLevelID(payload []byte) string {
	var head struct {
		ID any `json:"id"`
	}
	if len(payload) == 0 || json.Unmarshal(payload, &head) != nil {
		return ""
	}
	switch id := head.ID.(type) {
	case string:
		return id
	case float64:
		return fmt.Sprint(id)
	}
	return ""
}

type busyReply struct {
	name  string
	reply Reply
}

func (u *Uplink) reply(ctx context.Context, name string, r Reply) {
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	c := u.current()
	if c == nil {
		u.log.Warn("reply not sent: not connected", "command", name, "id", r.ID)
		return
	}
	if err := wait(ctx, c.Publish(u.prefix+"/reply", 1, false, b), connectTimeout); err != nil {
		u.log.Warn("reply not sent", "command", name, "id", r.ID, "err", err)
	}
}
