#include "service_notify.hpp"

#ifdef FLOWSCORE_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace flowscore {

#ifdef FLOWSCORE_HAVE_SYSTEMD
void notify_ready(const std::string& status) { sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str()); }
void notify_reloading() { sd_notify(0, "RELOADING=1"); }
void notify_stopping() { sd_notify(0, "STOPPING=1"); }
#else
void notify_ready(const std::string&) {}
void notify_reloading() {}
void notify_stopping() {}
#endif

}  // namespace flowscore
