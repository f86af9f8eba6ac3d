#include "common/runtime.hpp"
#include "order/order_service.hpp"

int main(int argc, char** argv) { return kd::run_service<kd::order::Service>(argc, argv); }
