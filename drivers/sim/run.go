package sim

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/jusha-ean/edge/configs"
)

// Run serves one simulated controller of kind, with the register map of the
// built-in profile, as Modbus unit id unit on addr, stepping it with the
// wall clock, until ctx ends (`edge sim --kind K --listen ADDR --unit N`).
// It logs the address it listens on.
func Run(ctx context.Context, kind, addr string, unit uint8, log *slog.Logger) error {
	return RunInteractive(ctx, kind, addr, unit, nil, log)
}

// RunInteractive is Run that also reads scenario commands, one a line, from
// in ("force", "call 5", "fault no_answer", "help"; see Sim.Commands) and
// logs each answer. A nil in reads nothing. When in is a terminal or pipe
// that never ends, the goroutine reading it outlives Run, blocked in Read:
// the process is about to exit anyway.
func RunInteractive(ctx context.Context, kind, addr string, unit uint8, in io.Reader, log *slog.Logger) error {
	p, err := configs.Builtin(kind)
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	s, err := New(kind, p, unit)
	if err != nil {
		return err
	}
	log = log.With("kind", kind, "unit", unit)
	s.SetLogger(log)
	ctx, cancel := context.WithCancel(ctx)
	defer s.Wait()
	defer cancel()
	actual, err := s.Serve(ctx, addr)
	if err != nil {
		return err
	}
	log.Info("sim: serving Modbus TCP", "addr", actual, "profile", p.File)
	if in == nil {
		<-ctx.Done()
		return nil
	}
	log.Info("sim: scenario commands, one a line", "commands", strings.Join(s.Commands(), "; "))
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				<-ctx.Done()
				return nil
			}
			s.runLine(line, log)
		}
	}
}

// runLine runs one console line and logs its answer. The log carries only
// the command's name, never its arguments: they may be a credential.
func (s *Sim) runLine(line string, log *slog.Logger) {
	name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
	switch name {
	case "":
		return
	case "help":
		log.Info("sim: commands", "commands", strings.Join(s.Commands(), "; "))
		return
	}
	out, err := s.Command(line)
	if err != nil {
		log.Warn("sim: command failed", "command", name, "err", err)
		return
	}
	log.Info("sim: command", "command", name, "result", out)
}
