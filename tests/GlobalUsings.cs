global using PropertyAttribute = FsCheck.NUnit.PropertyAttribute;
