// C++ on the guest: exceptions thrown through frames and caught by type,
// RAII unwinding, standard containers and algorithms, and iostreams with
// their formatting.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

int destroyed = 0;

struct Guard {
  std::string name;
  explicit Guard(std::string n) : name(std::move(n)) {}
  ~Guard() {
    ++destroyed;
    std::cout << "  ~Guard(" << name << ")\n";
  }
};

struct CustomError : std::runtime_error {
  int code;
  CustomError(const std::string &what, int c) : std::runtime_error(what), code(c) {}
};

void thrower(int depth, int kind) {
  Guard g("depth " + std::to_string(depth));
  if (depth > 0) {
    thrower(depth - 1, kind);
    return;
  }
  switch (kind) {
    case 0: throw std::runtime_error("runtime_error from the bottom");
    case 1: throw CustomError("custom", 42);
    case 2: throw 17;
    case 3: throw std::out_of_range("out of range");
    default: std::vector<int>().at(5);
  }
}

void exceptions() {
  for (int kind = 0; kind < 5; ++kind) {
    try {
      thrower(2, kind);
    } catch (const CustomError &e) {
      std::cout << "caught CustomError " << e.what() << " code " << e.code << "\n";
    } catch (const std::out_of_range &e) {
      std::cout << "caught out_of_range: " << (kind == 3 ? e.what() : "from vector::at") << "\n";
    } catch (const std::exception &e) {
      std::cout << "caught std::exception: " << e.what() << "\n";
    } catch (int v) {
      std::cout << "caught int " << v << "\n";
    }
  }
  try {
    try {
      throw std::logic_error("inner");
    } catch (...) {
      std::cout << "rethrowing\n";
      throw;
    }
  } catch (const std::logic_error &e) {
    std::cout << "caught rethrown " << e.what() << "\n";
  }
  std::exception_ptr p;
  try {
    throw std::invalid_argument("stored");
  } catch (...) {
    p = std::current_exception();
  }
  try {
    std::rethrow_exception(p);
  } catch (const std::invalid_argument &e) {
    std::cout << "exception_ptr: " << e.what() << "\n";
  }
  std::cout << "guards destroyed: " << destroyed << "\n";
}

void containers() {
  std::vector<int> v(20);
  std::iota(v.begin(), v.end(), -7);
  std::sort(v.begin(), v.end(), [](int a, int b) { return (a * a) % 11 < (b * b) % 11 || ((a * a) % 11 == (b * b) % 11 && a < b); });
  for (int x : v) std::cout << x << ' ';
  std::cout << "\nsum " << std::accumulate(v.begin(), v.end(), 0) << "\n";
  std::map<std::string, int> counts;
  std::istringstream words("the quick brown fox jumps over the lazy dog the end");
  for (std::string w; words >> w;) ++counts[w];
  for (const auto &[w, c] : counts) std::cout << w << '=' << c << ' ';
  std::cout << '\n';
  auto shared = std::make_shared<std::vector<std::string>>(3, "x");
  auto other = shared;
  other->push_back("y");
  std::cout << "shared use_count " << shared.use_count() << " size " << shared->size() << "\n";
  std::unique_ptr<Guard> owned(new Guard("unique"));
  owned.reset();
}

void streams() {
  std::cout << std::setw(8) << 42 << '|' << std::left << std::setw(8) << 42 << '|' << std::right << "\n";
  std::cout << std::hex << 255 << ' ' << std::showbase << 255 << ' ' << std::uppercase << 255 << std::dec
            << std::noshowbase << std::nouppercase << "\n";
  std::cout << std::oct << 64 << std::dec << ' ' << std::setfill('0') << std::setw(6) << -42 << std::setfill(' ') << "\n";
  std::cout << 3.14159265358979 << ' ' << std::setprecision(3) << 3.14159265358979 << ' ' << std::fixed << 2.5
            << ' ' << std::scientific << 12345.678 << std::defaultfloat << std::setprecision(6) << "\n";
  std::cout << std::boolalpha << true << ' ' << false << std::noboolalpha << ' ' << true << "\n";
  std::cout << 1e100 << ' ' << 1.0 / 3 << ' ' << -0.0 << ' ' << 1e-7 << "\n";
  std::ostringstream os;
  os << "built " << 1 << '+' << 2.5 << '=' << 3.5;
  std::cout << os.str() << " (" << os.str().size() << " chars)\n";
  std::istringstream in("12 -7 3.75 word 0x1f");
  int a, b;
  double d;
  std::string s;
  int h;
  in >> a >> b >> d >> s >> std::hex >> h;
  std::cout << "parsed " << a << ' ' << b << ' ' << d << ' ' << s << ' ' << h << "\n";
  std::cerr << "cxx-basics: to cerr\n";
  std::clog << "cxx-basics: to clog\n";
}

}  // namespace

int main() {
  std::cout << "exceptions:\n";
  exceptions();
  std::cout << "containers:\n";
  containers();
  std::cout << "streams:\n";
  streams();
  std::cout << "uncaught exception next" << std::endl;
  throw CustomError("nobody catches this", 1);
}
