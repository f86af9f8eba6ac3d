#include "common/runtime.hpp"
#include "repository/repository_service.hpp"

int main(int argc, char** argv) { return kd::run_service<kd::repository::Service>(argc, argv); }
