#include "common/runtime.hpp"
#include "statistics/statistics_service.hpp"

int main(int argc, char** argv) { return kd::run_service<kd::statistics::Service>(argc, argv); }
