// Classic pcap output (https://www.tcpdump.org/manpages/pcap-savefile.5.html):
// 24-byte global header, then a 16-byte record header before each frame.
// Written little-endian with magic 0xa1b2c3d4 (microsecond timestamps),
// LINKTYPE_ETHERNET, byte for byte the same on every host.
//
// Frames are composed in place inside a large buffer and handed to write(2)
// in multi-megabyte chunks: one copy per byte, no per-packet system call.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace flowscore::gen {

class PcapWriter {
 public:
  static constexpr uint32_t kSnapLen = 65535;
  static constexpr size_t kMaxFrame = 2048;  // largest frame the generator composes

  // Throws std::runtime_error naming the file and the OS error.
  explicit PcapWriter(const std::string& path, size_t buffer_bytes = 8u << 20);
  ~PcapWriter();
  PcapWriter(const PcapWriter&) = delete;
  PcapWriter& operator=(const PcapWriter&) = delete;

  // Room for one frame of up to kMaxFrame bytes; valid until commit().
  uint8_t* frame_slot();
  // Records the frame just composed in frame_slot(): `len` bytes captured and
  // on the wire, stamped with `ts_us` microseconds since the epoch.
  void commit(int64_t ts_us, uint32_t len);

  // Flushes and closes; throws on a short write. Called by the destructor
  // too (errors there are swallowed: call close() to see them).
  void close();

  uint64_t frames() const { return frames_; }
  uint64_t bytes() const { return bytes_; }

 private:
  void flush();

  int fd_ = -1;
  std::string path_;
  std::vector<uint8_t> buf_;
  size_t used_ = 0;
  uint64_t frames_ = 0;
  uint64_t bytes_ = 0;
};

}  // namespace flowscore::gen
