package web

import (
	"fmt"
	"sync"
	"testing"

	"github.com/jusha-ean/edge/events"
)

func TestRecentEvents(t *testing.T) {
	tests := []struct {
		size, add, limit int
		wantFirst        string // newest
		wantLen          int
	}{
		{size: 3, add: 0, limit: 0, wantLen: 0},
		{size: 3, add: 2, limit: 0, wantFirst: "e1", wantLen: 2},
		{size: 3, add: 3, limit: 0, wantFirst: "e2", wantLen: 3},
		{size: 3, add: 7, limit: 0, wantFirst: "e6", wantLen: 3},
		{size: 3, add: 7, limit: 2, wantFirst: "e6", wantLen: 2},
		{size: 0, add: 250, limit: 0, wantFirst: "e249", wantLen: DefaultRecentEvents},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("size%d-add%d-limit%d", tt.size, tt.add, tt.limit), func(t *testing.T) {
			r := NewRecentEvents(tt.size)
			for i := 0; i < tt.add; i++ {
				r.Add(events.Event{Type: fmt.Sprintf("e%d", i)})
			}
			got := r.Recent(tt.limit)
			capacity := tt.size
			if capacity <= 0 {
				capacity = DefaultRecentEvents
			}
			if r.Len() != min(tt.add, capacity) {
				t.Errorf("Len = %d, want %d", r.Len(), min(tt.add, capacity))
			}
			if len(got) != tt.wantLen {
				t.Fatalf("Recent(%d) has %d events, want %d", tt.limit, len(got), tt.wantLen)
			}
			if tt.wantLen == 0 {
				return
			}
			if got[0].Type != tt.wantFirst {
				t.Errorf("newest = %s, want %s", got[0].Type, tt.wantFirst)
			}
			for i := 1; i < len(got); i++ {
				var a, b int
				fmt.Sscanf(got[i-1].Type, "e%d", &a)
				fmt.Sscanf(got[i].Type, "e%d", &b)
				if a != b+1 {
					t.Errorf("order broken at %d: %s then %s", i, got[i-1].Type, got[i].Type)
				}
			}
		})
	}
}

func TestRecentEventsConcurrent(t *testing.T) {
	r := NewRecentEvents(10)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				r.Add(events.Event{Type: "x"})
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				_ = r.Recent(5)
			}
		}()
	}
	wg.Wait()
	if r.Len() != 10 {
		t.Errorf("Len = %d, want 10", r.Len())
	}
}
