package telemetry

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/url"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// influxWriter posts one batch of line protocol to the InfluxDB v2 write
// endpoint, once, through the client's HTTP service (its authorization,
// user agent and parsing of server errors into *http.Error).
//
// It does not use the client's WriteAPI: that one keeps its own retry queue,
// which discards batches when full or expired without telling us how many
// points were lost, so drops could not be counted exactly. Nor its
// WriteAPIBlocking: that one joins the lines into a new string and gzips
// each batch at the default level through a pipe and goroutine, with a new
// compressor per request; measured on loopback, compression was two thirds
// of the writer's CPU time. Here the batch is compressed at BestSpeed by one
// reused compressor into one reused buffer. Retrying is the caller's job.
//
// An influxWriter is used by one goroutine at a time.
type influxWriter struct {
	client  influxdb2.Client
	svc     influxhttp.Service
	url     string
	zw      *gzip.Writer
	body    bytes.Buffer
	scratch []byte
}

func newInfluxWriter(serverURL, token, org, bucket string) *influxWriter {
	opts := influxdb2.DefaultOptions().SetApplicationName("jusha-edge").SetHTTPRequestTimeout(uint(requestTimeout / time.Second))
	c := influxdb2.NewClientWithOptions(serverURL, token, opts)
	svc := c.HTTPService()
	u, _ := url.Parse(svc.ServerAPIURL()) // the client normalised it already
	u, _ = u.Parse("write")
	q := u.Query()
	q.Set("org", org)
	q.Set("bucket", bucket)
	q.Set("precision", "ms")
	u.RawQuery = q.Encode()
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // a valid level: no error
	return &influxWriter{client: c, svc: svc, url: u.String(), zw: zw}
}

// write posts lines as one gzip-compressed request. A failure is returned
// as the client's *http.Error: StatusCode 0 for network errors, else the
// HTTP status with the server's message.
func (iw *influxWriter) write(ctx context.Context, lines []string) error {
	iw.body.Reset()
	iw.zw.Reset(&iw.body)
	// Lines are gathered in a scratch buffer and compressed in chunks: the
	// gzip writer takes []byte only, and converting each string would
	// allocate. Writes into a bytes.Buffer do not fail.
	b := iw.scratch[:0]
	for i, l := range lines {
		if i > 0 {
			b = append(b, '\n')
		}
		b = append(b, l...)
		if len(b) >= chunk {
			_, _ = iw.zw.Write(b)
			b = b[:0]
		}
	}
	_, _ = iw.zw.Write(b)
	iw.scratch = b[:0]
	if err := iw.zw.Close(); err != nil {
		return err
	}
	perr := iw.svc.DoPostRequest(ctx, iw.url, bytes.NewReader(iw.body.Bytes()),
		func(req *http.Request) {
			req.Header.Set("Content-Encoding", "gzip")
			req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		},
		func(resp *http.Response) error {
			_, _ = io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		})
	if perr != nil {
		return perr
	}
	return nil
}

// chunk is how much line protocol is gathered before it is compressed.
const chunk = 64 << 10

// close releases the client's idle connections.
func (iw *influxWriter) close() { iw.client.Close() }

// requestTimeout bounds one write request; a store that accepts the
// connection and then hangs must not stall the sender for long.
const requestTimeout = 20 * time.Second
