// Package drivers reads and writes field devices over Modbus: links shared by
// the devices on one bus or TCP peer, polling, point decoding by profile, and
// (in drivers/sim) the simulators used by tests and the demo.
//
// # Contract
//
// A Manager is built from the configured devices (each with its profile
// Resolved) and polls them until its context ends. Devices with the same
// modbus.url share one link: one TCP connection or one serial port, owned by
// one goroutine that makes one request at a time. Writes are queued on the
// same link, ahead of the polls, and checked by reading the range back.
//
// Each poll of a device reads its points in as few requests as possible:
// points of one table are merged, bridging up to modbus.max_gap unused
// registers, at most 125 registers or 2,000 bits per request. A device that
// answers "illegal data address" for a merged read has that read split (at
// its gaps, then in halves) for this and every later poll.
//
// The first poll of every device starts at once; later polls start on the
// clock's multiples of the device's poll interval, so devices of the same
// interval are polled together and the process wakes once per interval.
//
// A request that fails is retried modbus.retries times, behind the requests
// of the other devices already due, so that a dead device costs the others at
// most one timeout per turn. A failed poll gives a Reading with the last good
// values (Stale) or none (Bad), and the device's next poll waits an
// exponential backoff with jitter, capped at modbus.max_backoff. After
// modbus.offline_after failed polls in a row the Reading says Online=false;
// the first answer sets it back.
//
// Garbled replies, exception codes, short frames, wrong unit or transaction
// ids and timeouts are errors of that poll, counted in Stats and worded for
// an installer (RequestError, LinkError), never a panic. After a timeout or a
// garbled frame the link is closed, and a serial link stays quiet for the
// time of a longest frame before it is reopened, so that a late answer is
// never taken for the next device's.
//
// # Transports
//
// tcp:// links use the package's own Modbus TCP client (tcpConn): a request
// costs one write and one read system call and no allocation, where the
// library's client makes two reads (header, then body) plus one that finds
// no answer yet, and allocates each frame. On the 200-device load test that
// was most of the CPU. It answers with the library's error values, so the
// rest of the package and its callers cannot tell the two apart. rtu://,
// rtuovertcp:// and tcp+tls:// links, and the simulators' servers, use
// github.com/simonvetter/modbus.
//
// # The library's traps, handled here
//
// github.com/simonvetter/modbus keeps the unit id as client state (one
// goroutine owns each client), panics when used after a failed Open (a new
// client is made for every Open), defaults serial lines to 19200 8N2 (every
// serial parameter is set explicitly: 9600 8N1 unless the URL says
// otherwise) and logs to stdout (its log goes to the slog logger at debug).
// Its request timeout is per connection: devices sharing a serial or TLS
// link get the longest of their timeouts (on tcp:// links, each its own).
package drivers
