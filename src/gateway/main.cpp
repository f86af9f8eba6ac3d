#include "common/runtime.hpp"
#include "gateway/gateway_service.hpp"

int main(int argc, char** argv) { return kd::run_service<kd::gateway::Service>(argc, argv); }
