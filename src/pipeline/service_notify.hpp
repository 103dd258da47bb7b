// Tells systemd what a live sensor is doing (sd_notify(3), Type=notify in
// flowscore.service): READY once the ports are up and the workers poll,
// RELOADING around a SIGHUP, STOPPING when it flushes at shutdown. Without
// libsystemd at build time, or outside systemd (no $NOTIFY_SOCKET), each
// call does nothing.
#pragma once
#include <string>

namespace flowscore {

void notify_ready(const std::string& status);
void notify_reloading();
void notify_stopping();

}  // namespace flowscore
