import XCTest
import ZooTensor
