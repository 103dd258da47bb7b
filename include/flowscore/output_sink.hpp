// Where EVE lines go. Sinks take whole lines (or batches of them) and never
// throw on the write path: a failure returns false, is counted, and
// last_error() says why in errno terms (e.g. "No space left on device").
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include "flowscore/file_rotation.hpp"
#include "flowscore/syslog_message.hpp"

struct ssl_ctx_st;
struct ssl_st;

namespace flowscore {

class OutputSink {
 public:
  virtual ~OutputSink() = default;
  // Takes `data` (complete newline-terminated lines). False when it could
  // not be delivered; the data is then dropped and counted, never retried
  // without bound.
  virtual bool write(std::string_view data) = 0;
  // Pushes buffered data out. False on failure.
  virtual bool flush() = 0;
  // Human-readable destination, e.g. "file eve.json" or "stdout".
  virtual std::string describe() const = 0;
  // Starts writing to a fresh open of the destination (log rotation: the
  // old file was renamed away). False, with last_error(), when it cannot be
  // opened; writing then goes on where it went before.
  virtual bool reopen() { return true; }
  // For a spool in front of a collector (SpoolingSink): whether a write of
  // `bytes` would be taken now and go out soon (the collector is there and
  // its queue has room), and the whole lines it holds but has not sent,
  // handed back (at the end of a run, so they wait in the spool).
  virtual bool accepts(size_t /*bytes*/) const { return true; }
  virtual std::string take_unsent() { return {}; }

  // Why the most recent failure happened; empty if none has.
  std::string_view last_error() const { return {last_error_, last_error_len_}; }
  uint64_t dropped_bytes() const { return dropped_bytes_; }
  // The records (lines) in dropped_bytes(): a line whose start went out and
  // whose end was dropped counts as lost.
  uint64_t dropped_lines() const { return dropped_lines_; }

  // Once `*flag` is set (a second stop signal), a write that blocks gives up
  // when a signal interrupts it, and later writes drop their data at once:
  // a destination that stopped reading cannot keep the process alive.
  // What is dropped is counted, with that reason in last_error().
  void abandon_when(const std::atomic<bool>* flag) { abandon_ = flag; }

 protected:
  bool abandoned() const { return abandon_ != nullptr && abandon_->load(std::memory_order_relaxed); }
  // Records errno's text without allocating.
  void set_error(int errnum, std::string_view what);
  // Records a library's own message (cut to fit).
  void set_error_text(std::string_view text);
  // Counts `lines` as dropped: whole lines, or the end of one whose start
  // went out (text not ending in a newline is a line cut short).
  void count_dropped(std::string_view lines);
  uint64_t dropped_bytes_ = 0;
  uint64_t dropped_lines_ = 0;

 private:
  char last_error_[160] = {};
  size_t last_error_len_ = 0;
  const std::atomic<bool>* abandon_ = nullptr;
};

// A file or stdout, written with large write(2) calls from its own buffer.
class FileSink final : public OutputSink {
 public:
  static constexpr size_t kDefaultBufferBytes = 1 << 20;

  // Opens `path` ("-" = stdout) for writing: truncated, or appended to when
  // `append` (after a newline if the file ends mid-line). Returns nullptr and
  // sets `error` when it cannot be opened. `rotation` applies to a regular
  // file (not stdout, a FIFO or a device).
  static std::unique_ptr<FileSink> open(const std::string& path, bool append, std::string& error,
                                        size_t buffer_bytes = kDefaultBufferBytes, FileRotation rotation = {});
  ~FileSink() override;
  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

  bool write(std::string_view data) override;
  bool flush() override;
  std::string describe() const override;
  // Opens the path again for appending (stdout: nothing to do); lines still
  // buffered go to the new file.
  bool reopen() override;

  uint64_t rotations() const { return rotations_; }
  uint64_t syncs() const { return syncs_; }

 private:
  FileSink(int fd, bool owns_fd, std::string path, size_t buffer_bytes);
  bool take(std::string_view data);  // into the buffer, flushing it first when full
  // Writes whole lines, rotating the file between two of them when a size
  // or time boundary says so.
  bool write_all(const char* data, size_t size);
  // How much of `lines` (a prefix of whole lines) the current file takes
  // before it would pass rotation.max_bytes; a line longer than that goes
  // alone into a file of its own.
  size_t lines_that_fit(std::string_view lines) const;
  bool rotate();
  // At an interval boundary: the buffered lines end the old file, which is
  // rotated. False when writing them failed (they are counted).
  bool rotate_if_due();
  bool write_lines(const char* data, size_t size);
  bool write_fully(const char* data, size_t size, size_t& written);
  // Takes the last `bytes` written back out of a regular file (a line a
  // failed write cut short). False for a pipe or device, or when it fails.
  bool cut_back(size_t bytes);

  int fd_;
  bool owns_fd_;
  bool torn_line_ = false;
  std::string path_;
  std::string error_context_;
  std::vector<char> buffer_;
  size_t used_ = 0;
  FileRotation rotation_;
  uint64_t file_bytes_ = 0;        // in the file being written
  uint64_t next_boundary_ns_ = 0;  // the wall-clock time of the next interval rotation
  uint64_t last_sync_ns_ = 0;
  uint64_t rotations_ = 0, syncs_ = 0;
  std::unique_ptr<RotatedFileKeeper> keeper_;  // made at the first rotation
};

// Newline-delimited JSON to a TCP collector (Logstash/Vector/Fluent Bit tcp
// inputs). Never blocks: lines queue in a bounded buffer and go out with
// non-blocking sends on write() and flush(); when the buffer is full a
// write is dropped whole and counted. A refused or lost connection is
// retried with exponential backoff. A line cut by a lost connection is not
// resent; the new connection starts at the next whole line.
//
// With `syslog` set, each line goes out as an RFC 5424 message in RFC 6587
// octet-counting framing ("LEN <PRI>1 TIMESTAMP HOSTNAME flowscore PROCID
// MSGID - JSON"), as rsyslog's imtcp and syslog-ng's syslog() source take
// it: PRI from the facility and the event (alert: warning, else info),
// MSGID the event_type, MSG the EVE line with its newline (which syslog-ng
// and rsyslog strip). A message is sent whole whatever its length; a
// collector's limit (rsyslog's maxMessageSize, 8 KiB by default;
// syslog-ng's log-msg-size, 64 KiB) may cut a longer one, so those are
// counted (long_messages) for the summary.
class TcpSink final : public OutputSink {
 public:
  using Syslog = SyslogOptions;
  // TLS (RFC 5425's syslog over TLS, or any TLS collector): the server's
  // certificate is verified against `ca_file` (else the system's store) and
  // must name `server_name` (else the numeric address we connect to); a
  // client certificate is sent when `cert_file` is given.
  struct Tls {
    std::string ca_file;
    std::string server_name;
    std::string cert_file, key_file;
  };
  struct Options {
    std::string address = "127.0.0.1";  // numeric IPv4 or IPv6 address
    uint16_t port = 0;
    size_t buffer_bytes = 4 << 20;
    uint32_t backoff_min_ms = 100;      // first retry delay, doubled per failure
    uint32_t backoff_max_ms = 30'000;
    std::optional<Syslog> syslog;       // RFC 5424 framing; newline-delimited JSON without
    std::optional<Tls> tls;             // TLS over the connection; plain TCP without
  };

  // Nullptr and `error` set when the address is not a numeric IP address.
  static std::unique_ptr<TcpSink> create(const Options& options, std::string& error);
  ~TcpSink() override;
  TcpSink(const TcpSink&) = delete;
  TcpSink& operator=(const TcpSink&) = delete;

  bool write(std::string_view data) override;
  // Sends what the socket takes now (queued_bytes() says what is left).
  bool flush() override;
  std::string describe() const override;

  bool connected() const { return state_ == State::kConnected; }
  uint64_t long_messages() const { return long_messages_; }
  bool accepts(size_t bytes) const override;
  std::string take_unsent() override;
  uint64_t connects() const { return connects_; }
  size_t queued_bytes() const { return tail_ - head_; }

 private:
  enum class State { kDisconnected, kConnecting, kHandshaking, kConnected };
  explicit TcpSink(const Options& options);
  void pump();             // advance connection state, then send
  void start_connect();
  void finish_connect();
  void send_queued();
  void start_tls();        // after the TCP connection: a new SSL on it
  void continue_handshake();
  // One send of buffer_[head_, tail_): plain or TLS. Bytes sent, 0 when the
  // connection cannot take more now, -1 when it was lost (already handled).
  ssize_t send_some(size_t limit = SIZE_MAX);
  void lose_connection(int errnum, std::string_view what);
  void lose_connection(std::string_view why);  // a TLS failure: OpenSSL's reason
  void connection_up();                        // TCP connected: start TLS, or take lines
  std::string_view framed(std::string_view lines);  // syslog: each line as an RFC 5424 message, octet-counted

  Options options_;
  std::vector<char> buffer_;
  size_t head_ = 0, tail_ = 0;  // queued bytes are buffer_[head_, tail_)
  bool mid_line_ = false;       // bytes of the line at head_ already went out
  int fd_ = -1;
  State state_ = State::kDisconnected;
  int64_t retry_at_ms_ = 0;
  uint32_t backoff_ms_ = 0;
  uint64_t connects_ = 0;
  int family_ = 0;
  unsigned char addr_[16] = {};
  std::string frames_;  // syslog: the framed messages of one write
  ssl_ctx_st* tls_context_ = nullptr;  // shared by every connection's SSL
  ssl_st* tls_ = nullptr;
  uint64_t long_messages_ = 0;
};

// RFC 5424 syslog over UDP (RFC 5426), the lossy transport: one message
// per datagram, sent at once with a non-blocking send(2) on a connected
// socket. A send the kernel refuses (a full socket buffer, the collector's
// port closed as ICMP says) drops that record, counted; what the network
// or the collector drops after a send succeeds cannot be seen and is not.
// A message longer than a datagram can carry (65,507 bytes) is dropped and
// counted; one longer than `long_message_bytes` goes out and is counted
// (collectors cut them). No spool: a collector that must get every record
// takes syslog+tcp://, syslog+tls:// or kafka://.
class UdpSink final : public OutputSink {
 public:
  static std::unique_ptr<UdpSink> create(const std::string& address, uint16_t port, SyslogOptions syslog,
                                         std::string& error);
  ~UdpSink() override;
  UdpSink(const UdpSink&) = delete;
  UdpSink& operator=(const UdpSink&) = delete;

  bool write(std::string_view data) override;
  bool flush() override { return true; }
  std::string describe() const override;
  uint64_t sent() const { return sent_; }
  uint64_t long_messages() const { return long_messages_; }

 private:
  UdpSink(int fd, std::string address, uint16_t port, SyslogOptions syslog);
  int fd_;
  std::string address_;
  uint16_t port_;
  SyslogOptions syslog_;
  std::string message_;
  uint64_t sent_ = 0, long_messages_ = 0;
};

}  // namespace flowscore
