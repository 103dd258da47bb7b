#include "pcap_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace flowscore::gen {
namespace {

constexpr size_t kRecordHeader = 16;
constexpr uint32_t kLinkTypeEthernet = 1;

void put_le32(uint8_t* p, uint32_t v) {
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = v >> 24;
}
void put_le16(uint8_t* p, uint16_t v) {
  p[0] = v & 0xff;
  p[1] = v >> 8;
}

}  // namespace

PcapWriter::PcapWriter(const std::string& path, size_t buffer_bytes)
    : path_(path), buf_(buffer_bytes < 65536 ? 65536 : buffer_bytes) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  uint8_t* h = buf_.data();
  put_le32(h, 0xa1b2c3d4);  // microsecond-resolution magic
  put_le16(h + 4, 2);       // version 2.4
  put_le16(h + 6, 4);
  put_le32(h + 8, 0);       // thiszone: timestamps are UTC
  put_le32(h + 12, 0);      // sigfigs
  put_le32(h + 16, kSnapLen);
  put_le32(h + 20, kLinkTypeEthernet);
  used_ = 24;
}

PcapWriter::~PcapWriter() {
  try {
    close();
  } catch (...) {
  }
}

uint8_t* PcapWriter::frame_slot() {
  if (buf_.size() - used_ < kRecordHeader + kMaxFrame) flush();
  return buf_.data() + used_ + kRecordHeader;
}

void PcapWriter::commit(int64_t ts_us, uint32_t len) {
  uint8_t* rec = buf_.data() + used_;
  put_le32(rec, static_cast<uint32_t>(ts_us / 1000000));
  put_le32(rec + 4, static_cast<uint32_t>(ts_us % 1000000));
  put_le32(rec + 8, len);
  put_le32(rec + 12, len);
  used_ += kRecordHeader + len;
  ++frames_;
  bytes_ += len;
}

void PcapWriter::flush() {
  size_t off = 0;
  while (off < used_) {
    const ssize_t n = ::write(fd_, buf_.data() + off, used_ - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("write to " + path_ + " failed: " + std::strerror(errno));
    off += static_cast<size_t>(n);
  }
  used_ = 0;
}

void PcapWriter::close() {
  if (fd_ < 0) return;
  flush();
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw std::runtime_error("closing " + path_ + " failed: " + std::strerror(errno));
}

}  // namespace flowscore::gen
