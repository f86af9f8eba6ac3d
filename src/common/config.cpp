#include "common/config.hpp"

#include <iostream>

namespace kd {

void bind_common_options(CLI::App& app, CommonSettings& common) {
  app.add_option_function<std::string>(
         "--log-level",
         [&common](const std::string& word) {
           if (!log::parse_level(word, common.log.level)) {
             throw CLI::ValidationError("--log-level", "must be debug, info, warn or error");
           }
         },
         "Lowest level logged: debug, info, warn, error (default info)")
      ->envname("LOG_LEVEL");
  app.add_option_function<int>(
         "--shutdown-timeout-ms",
         [&common](int ms) { common.shutdown_timeout = std::chrono::milliseconds(ms); },
         "How long a SIGTERM may take to drain work (default 20000)")
      ->envname("SHUTDOWN_TIMEOUT_MS")
      ->check(CLI::Range(0, 600'000));
  app.add_option("--pod-name", common.pod_name,
                 "This instance's StatefulSet pod name (default: the host name)")
      ->envname("POD_NAME");
}

std::optional<int> parse_command_line(CLI::App& app, int argc, const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    std::string message = error.what();
    // CLI11 names the flag; a value from the environment is easier to find by its variable's name.
    for (const CLI::Option* option : app.get_options()) {
      const auto& names = option->get_lnames();
      if (!option->get_envname().empty() && !names.empty() &&
          message.find("--" + names.front()) != std::string::npos) {
        message += " (flag --" + names.front() + ", environment variable " + option->get_envname() + ")";
        break;
      }
    }
    std::cerr << app.get_name() << ": " << message << "\n(run with --help for every setting)\n";
    return 2;
  }
  return std::nullopt;
}

}  // namespace kd
