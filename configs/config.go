// Package configs holds the gateway's configuration: the schema of the YAML
// file (CONTRACT section 2), its strict loading, defaults and validation, the
// example config and the built-in device profiles.
//
// Loading is three steps, in this order: a strict decode (an unknown key is an
// error with its line and column), defaults applied to what was decoded, then
// validation that reports every problem at once as FILE:LINE:COL: message.
package configs

import "time"

// Config is one gateway's whole configuration.
type Config struct {
	Site     string `yaml:"site"`
	Gateway  string `yaml:"gateway"`
	StateDir string `yaml:"state_dir"`
	// Timezone is the site's IANA time zone, used for access schedules.
	// Empty means the system's.
	Timezone string `yaml:"timezone"`

	Upstream  Upstream              `yaml:"upstream"`
	Telemetry *Telemetry            `yaml:"telemetry"`
	HTTP      HTTP                  `yaml:"http"`
	Access    Access                `yaml:"access"`
	Rules     map[string]RuleConfig `yaml:"rules"`
	Devices   []Device              `yaml:"devices"`

	// File is the path the config was loaded from; empty if built in code.
	File string `yaml:"-"`
}

// Upstream is the MQTT link to the central platform.
type Upstream struct {
	// Brokers holds one URL, or the nodes of a broker cluster. In YAML,
	// `broker` is a string or a list of strings.
	Brokers      StringList `yaml:"broker"`
	TopicPrefix  string     `yaml:"topic_prefix"`
	ClientID     string     `yaml:"client_id"`
	Username     string     `yaml:"username"`
	PasswordFile string     `yaml:"password_file"`
	TLS          TLS        `yaml:"tls"`
	AckTimeout   Duration   `yaml:"ack_timeout"`
	Outbox       Outbox     `yaml:"outbox"`
}

// TLS configures TLS, and mutual TLS when CertFile and KeyFile are set.
type TLS struct {
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Outbox bounds the durable event store.
type Outbox struct {
	MaxBytes ByteSize `yaml:"max_bytes"`
}

// Telemetry configures time series written to an InfluxDB v2 API.
type Telemetry struct {
	Influx        Influx   `yaml:"influx"`
	Interval      Duration `yaml:"interval"`
	BatchSize     int      `yaml:"batch_size"`
	FlushInterval Duration `yaml:"flush_interval"`
	BufferPoints  int      `yaml:"buffer_points"`
}

// Influx is the address and credentials of an InfluxDB v2 write API.
type Influx struct {
	URL       string `yaml:"url"`
	Org       string `yaml:"org"`
	Bucket    string `yaml:"bucket"`
	TokenFile string `yaml:"token_file"`
}

// HTTP is the local status page and API server.
type HTTP struct {
	Listen    string `yaml:"listen"`
	TokenFile string `yaml:"token_file"`
}

// Access configures the local rider whitelist.
type Access struct {
	KeyFile    string   `yaml:"key_file"`
	Signers    []Signer `yaml:"signers"`
	UnlockTime Duration `yaml:"unlock_time"`
}

// Signer is an Ed25519 public key allowed to sign whitelist updates and
// remote opens. PublicKey is the raw 32-byte key in standard base64.
type Signer struct {
	ID        string `yaml:"id"`
	PublicKey string `yaml:"public_key"`
}

// RuleConfig tunes one event type: thresholds, severity, route, or off.
// Zero fields keep the rule's defaults.
type RuleConfig struct {
	Disabled bool     `yaml:"disabled"`
	After    Duration `yaml:"after"`
	Window   Duration `yaml:"window"`
	Count    int      `yaml:"count"`
	Severity string   `yaml:"severity"`
	Route    string   `yaml:"route"`
	// ClearAfter is the hold-down before an alarm clears, so that a
	// flapping contact does not flood the platform.
	ClearAfter Duration `yaml:"clear_after"`
	// AfterAtFloor is elevator.trapped's second delay: a passenger signal
	// (alarm button, occupied) while stopped at a floor with the door closed.
	AfterAtFloor Duration `yaml:"after_at_floor"`
	// OutputDevice and OutputPoint name a coil (a siren or a light) that is
	// switched on while an escalated alarm waits for its ack. Set on
	// alarm.escalated for every alarm, or on one alarm type.
	OutputDevice string `yaml:"output_device"`
	OutputPoint  string `yaml:"output_point"`
}

// Device is one Modbus controller: a door, an elevator or a gate.
type Device struct {
	ID   string `yaml:"id"`
	Kind string `yaml:"kind"`
	// Profile is "builtin/KIND" (the default) or a profile file's path,
	// relative to the config file.
	Profile  string   `yaml:"profile"`
	Modbus   Modbus   `yaml:"modbus"`
	Poll     Duration `yaml:"poll"`
	Location string   `yaml:"location"`
	Zone     string   `yaml:"zone"`
	// CredentialType is what the device's reader reads: card (the
	// default), qr or pin.
	CredentialType string `yaml:"credential_type"`
	// LowestFloor is, for an elevator, the floor of the first floor_enable
	// coil (default 1; 0 and negative floors are allowed).
	LowestFloor int                   `yaml:"lowest_floor"`
	Rules       map[string]RuleConfig `yaml:"rules"`

	// Resolved is the loaded profile named by Profile. Devices naming the
	// same profile share one *Profile: treat it as read only.
	Resolved *Profile `yaml:"-"`
}

// Modbus is how a device is reached. Devices with the same URL share one link.
type Modbus struct {
	// URL is tcp://HOST:PORT, tcp+tls://HOST:PORT (optionally ?ca_file=
	// &cert_file=&key_file=, else TLS below), rtuovertcp://HOST:PORT
	// (optionally ?baud= of the bus behind the gateway, default 9600) or
	// rtu:///dev/DEVICE with optional serial options baud, parity (N, E,
	// O), data_bits (5-8) and stop_bits (1, 2) as a query.
	URL string `yaml:"url"`
	// UnitID is the Modbus unit (slave) id: 0-247 over TCP, 1-247 on a
	// serial bus; default 1.
	UnitID int `yaml:"unit_id"`
	// Timeout bounds one request, Retries are extra tries within one poll.
	Timeout Duration `yaml:"timeout"`
	Retries *int     `yaml:"retries"`
	// MaxBackoff caps the exponential backoff while the device fails.
	MaxBackoff Duration `yaml:"max_backoff"`
	// OfflineAfter is the number of failed polls before device.offline.
	OfflineAfter int `yaml:"offline_after"`
	// MaxGap is how many unused registers a coalesced read may bridge.
	MaxGap *int `yaml:"max_gap"`
	// TLS holds the CA and the client key pair for tcp+tls:// (Modbus/TCP
	// Security requires a client certificate). Nil without TLS.
	TLS *TLS `yaml:"tls,omitempty"`
}

// Device kinds, a closed set.
const (
	KindDoor     = "door"
	KindElevator = "elevator"
	KindGate     = "gate"
)

// Default values, applied after decoding. The example config lists them.
const (
	DefaultStateDir      = "/var/lib/jusha-edge"
	DefaultBroker        = "tcp://127.0.0.1:1883"
	DefaultTopicPrefix   = "jusha/v1"
	DefaultAckTimeout    = 60 * time.Second
	DefaultOutboxBytes   = 256 << 20
	DefaultHTTPListen    = "127.0.0.1:8080"
	DefaultKeyFile       = "/etc/jusha-edge/site.key"
	DefaultUnlockTime    = 5 * time.Second
	DefaultPoll          = 200 * time.Millisecond
	DefaultTimeout       = time.Second
	DefaultRetries       = 1
	DefaultMaxBackoff    = 30 * time.Second
	DefaultOfflineAfter  = 3
	DefaultMaxGap        = 10
	DefaultTelemetryInt  = 10 * time.Second
	DefaultBatchSize     = 5000
	DefaultFlushInterval = time.Second
	DefaultBufferPoints  = 100000
)
