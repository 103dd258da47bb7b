// A collector output with a disk spool in front (output.spool_dir): lines
// go to the collector while it takes them, and to the spool while it does
// not (down, or its queue full); once anything is spooled, new lines queue
// behind it, so the collector gets every line in order. The spool is handed
// on as the collector takes lines again, on every write and flush. At the
// end of a run, what the collector still holds unsent goes back into the
// spool, which the next start resumes.
#pragma once
#include <memory>

#include "flowscore/output_sink.hpp"
#include "flowscore/spool.hpp"

namespace flowscore {

class SpoolingSink final : public OutputSink {
 public:
  SpoolingSink(std::unique_ptr<OutputSink> collector, std::unique_ptr<Spool> spool)
      : collector_(std::move(collector)), spool_(std::move(spool)) {}

  bool write(std::string_view data) override;
  // Hands spooled lines on, flushes the collector. False only when the
  // collector failed.
  bool flush() override;
  std::string describe() const override;

  // The end of the run: the collector's unsent lines go back to the spool,
  // which is closed for the next start.
  void finish();
  Spool& spool() { return *spool_; }
  const Spool& spool() const { return *spool_; }
  OutputSink& collector() { return *collector_; }

 private:
  void hand_on();
  std::unique_ptr<OutputSink> collector_;
  std::unique_ptr<Spool> spool_;
};

}  // namespace flowscore
