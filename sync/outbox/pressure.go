package outbox

import (
	"strconv"

	"github.com/jusha-ean/edge/events"
)

// PressureType is the event the outbox raises about itself.
const PressureType = "gateway.outbox_pressure"

// pressure appends a gateway.outbox_pressure event when the store crosses
// PressureRaise going up (raised) or PressureClear going down (cleared).
// The event is stored in the same transaction, so the platform sees it in
// sequence with the events that caused it.
func (t *txn) pressure() (*appendReq, error) {
	maxBytes := float64(t.o.opts.MaxBytes)
	used := float64(t.st.total())
	var phase events.Phase
	switch {
	case t.st.pressureID == "" && used >= PressureRaise*maxBytes:
		phase = events.Raised
	case t.st.pressureID != "" && used < PressureClear*maxBytes:
		phase = events.Cleared
	default:
		return nil, nil
	}
	ev := events.New(PressureType, "outbox", t.o.opts.Now(), events.Medium, events.RouteRecord)
	ev.Phase = phase
	ev.Data = map[string]any{
		"bytes":     t.st.total(),
		"max_bytes": t.o.opts.MaxBytes,
		"percent":   int(100 * used / maxBytes),
		"depth":     t.st.depth(),
	}
	alarmID := t.st.pressureID
	if phase == events.Raised {
		// Named after the sequence the raised event is about to get.
		alarmID = "outbox/" + PressureType + "/" + strconv.FormatUint(t.st.seq+1, 10)
	}
	ev.AlarmID = alarmID
	r, err := t.o.newReq(ev)
	if err != nil {
		return nil, err
	}
	n, err := t.put(r)
	t.evicted += n
	if err != nil {
		// Full of alarms: the pressure event cannot be stored; the state
		// stays as it was and the next commit tries again.
		if err == ErrFull {
			return nil, nil
		}
		return nil, err
	}
	meta := t.tx.Bucket(bucketMeta)
	if phase == events.Raised {
		t.st.pressureID = alarmID
		err = meta.Put(keyPressure, []byte(alarmID))
	} else {
		t.st.pressureID = ""
		err = meta.Delete(keyPressure)
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}
