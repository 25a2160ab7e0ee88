package sim

import (
	"github.com/simonvetter/modbus"

	"github.com/jusha-ean/edge/configs"
)

// handler serves the register images of the simulators on one server, by
// unit id, for the library's Modbus server.
type handler struct {
	sims map[uint8]*Sim
}

var _ modbus.RequestHandler = (*handler)(nil)

// HandleCoils serves function codes 1, 5 and 15.
func (h *handler) HandleCoils(req *modbus.CoilsRequest) ([]bool, error) {
	s := h.sims[req.UnitId]
	if s == nil {
		return nil, modbus.ErrGWTargetFailedToRespond
	}
	return s.bitsRequest(configs.TableCoil, req.Addr, req.Quantity, req.IsWrite, req.Args)
}

// HandleDiscreteInputs serves function code 2.
func (h *handler) HandleDiscreteInputs(req *modbus.DiscreteInputsRequest) ([]bool, error) {
	s := h.sims[req.UnitId]
	if s == nil {
		return nil, modbus.ErrGWTargetFailedToRespond
	}
	return s.bitsRequest(configs.TableDiscreteInput, req.Addr, req.Quantity, false, nil)
}

// HandleHoldingRegisters serves function codes 3, 6 and 16.
func (h *handler) HandleHoldingRegisters(req *modbus.HoldingRegistersRequest) ([]uint16, error) {
	s := h.sims[req.UnitId]
	if s == nil {
		return nil, modbus.ErrGWTargetFailedToRespond
	}
	return s.regsRequest(configs.TableHolding, req.Addr, req.Quantity, req.IsWrite, req.Args)
}

// HandleInputRegisters serves function code 4.
func (h *handler) HandleInputRegisters(req *modbus.InputRegistersRequest) ([]uint16, error) {
	s := h.sims[req.UnitId]
	if s == nil {
		return nil, modbus.ErrGWTargetFailedToRespond
	}
	return s.regsRequest(configs.TableInput, req.Addr, req.Quantity, false, nil)
}

// readable returns the image clients read: the frozen one while stuck.
func (s *Sim) readable() *image {
	if s.frozen != nil {
		return s.frozen
	}
	return s.img
}

// The library maps only its own sentinel errors (compared with ==) to
// exception codes, so these return them unwrapped.

func (s *Sim) bitsRequest(t configs.Table, addr, qty uint16, write bool, args []bool) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.img.covered(t, addr, qty, s.strict) {
		return nil, modbus.ErrIllegalDataAddress
	}
	if write {
		copy(s.img.bits(t)[addr:], args)
		s.model.written(t, addr, qty)
		return nil, nil
	}
	return append([]bool(nil), s.readable().bits(t)[addr:int(addr)+int(qty)]...), nil
}

func (s *Sim) regsRequest(t configs.Table, addr, qty uint16, write bool, args []uint16) ([]uint16, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.img.covered(t, addr, qty, s.strict) {
		return nil, modbus.ErrIllegalDataAddress
	}
	if write {
		copy(s.img.regs(t)[addr:], args)
		s.model.written(t, addr, qty)
		return nil, nil
	}
	return append([]uint16(nil), s.readable().regs(t)[addr:int(addr)+int(qty)]...), nil
}
